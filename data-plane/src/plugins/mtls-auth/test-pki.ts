/**
 * A test PKI made with the `openssl` CLI (real certificates and CRLs, as an operator's CA makes
 * them): CAs, intermediates, client certificates with SANs and CRL distribution points, and CRLs
 * from `openssl ca -revoke` / `-gencrl`. For the mtls-auth unit and e2e tests only.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface Issued {
  /** PEM certificate. */
  readonly cert: string;
  /** PEM private key. */
  readonly key: string;
  readonly certFile: string;
  readonly keyFile: string;
}

export interface ClientOptions {
  /** Subject, e.g. `/O=Example/CN=alice`. */
  readonly subject: string;
  /** subjectAltName value, e.g. `DNS:alice.example,email:alice@example.com`. */
  readonly san?: string;
  /** A CRL distribution point URL. */
  readonly crlUrl?: string;
  /** extendedKeyUsage (default clientAuth). */
  readonly eku?: string;
  /** Validity in days (default 30). */
  readonly days?: number;
  readonly serial?: string;
}

let counter = 0;

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

export class TestCa {
  private constructor(
    readonly dir: string,
    readonly name: string,
    readonly issued: Issued,
  ) {}

  get cert(): string {
    return this.issued.cert;
  }

  /** A self-signed root CA. */
  static root(commonName: string, dir = mkdtempSync(path.join(tmpdir(), 'gh-pki-'))): TestCa {
    const name = `ca${++counter}`;
    openssl(dir, [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
      '-days',
      '30',
      '-subj',
      `/CN=${commonName}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    writeFileSync(path.join(dir, `${name}.index`), '');
    writeFileSync(path.join(dir, `${name}.crlnumber`), '01\n');
    return new TestCa(dir, name, TestCa.files(dir, name));
  }

  private static files(dir: string, name: string): Issued {
    const certFile = path.join(dir, `${name}.pem`);
    const keyFile = path.join(dir, `${name}.key`);
    return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), certFile, keyFile };
  }

  private sign(
    subject: string,
    extensions: string,
    days: number,
    serial?: string,
  ): { name: string; issued: Issued } {
    const name = `c${++counter}`;
    openssl(this.dir, [
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      subject,
    ]);
    writeFileSync(path.join(this.dir, `${name}.ext`), extensions);
    const validity = ['-days', String(days)];
    openssl(this.dir, [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${this.name}.pem`,
      '-CAkey',
      `${this.name}.key`,
      '-set_serial',
      serial ?? `0x${(0x100000 + counter).toString(16)}${Date.now().toString(16)}`,
      ...validity,
      '-out',
      `${name}.pem`,
      '-extfile',
      `${name}.ext`,
    ]);
    return { name, issued: TestCa.files(this.dir, name) };
  }

  /** An intermediate CA signed by this one. */
  intermediate(commonName: string): TestCa {
    const { name, issued } = this.sign(
      `/CN=${commonName}`,
      'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n',
      30,
    );
    writeFileSync(path.join(this.dir, `${name}.index`), '');
    writeFileSync(path.join(this.dir, `${name}.crlnumber`), '01\n');
    return new TestCa(this.dir, name, issued);
  }

  /** A client certificate signed by this CA. */
  client(o: ClientOptions): Issued {
    const ext = [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature',
      `extendedKeyUsage=${o.eku ?? 'clientAuth'}`,
      ...(o.san === undefined ? [] : [`subjectAltName=${o.san}`]),
      ...(o.crlUrl === undefined ? [] : [`crlDistributionPoints=URI:${o.crlUrl}`]),
    ].join('\n');
    return this.sign(o.subject, `${ext}\n`, o.days ?? 30, o.serial).issued;
  }

  private config(): string {
    const file = path.join(this.dir, `${this.name}.cnf`);
    writeFileSync(
      file,
      `[ ca ]\ndefault_ca = d\n[ d ]\ndatabase = ${this.name}.index\ncrlnumber = ${this.name}.crlnumber\n` +
        'default_md = sha256\ndefault_crl_days = 7\n',
    );
    return file;
  }

  /** Adds `cert` to this CA's revoked list. */
  revoke(cert: Issued): void {
    openssl(this.dir, [
      'ca',
      '-config',
      this.config(),
      '-revoke',
      cert.certFile,
      '-keyfile',
      `${this.name}.key`,
      '-cert',
      `${this.name}.pem`,
    ]);
  }

  /** The CA's current CRL (DER). */
  crl(): Buffer {
    const out = `${this.name}-${++counter}.crl`;
    openssl(this.dir, [
      'ca',
      '-config',
      this.config(),
      '-gencrl',
      '-keyfile',
      `${this.name}.key`,
      '-cert',
      `${this.name}.pem`,
      '-out',
      `${out}.pem`,
    ]);
    openssl(this.dir, ['crl', '-in', `${out}.pem`, '-outform', 'DER', '-out', out]);
    return readFileSync(path.join(this.dir, out));
  }
}

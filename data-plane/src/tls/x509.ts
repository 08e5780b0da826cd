/**
 * A small X.509 v3 certificate builder on node:crypto (P-256 keys, ECDSA-SHA256), so the data
 * plane can make its default self-signed certificate (Kong generates one too) without a
 * dependency. Tests use it to build CAs, server and client certificates.
 */
import { createPrivateKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';

export interface CertificateRequest {
  commonName: string;
  /** DNS names or IP addresses for subjectAltName (the common name is not added implicitly). */
  altNames?: readonly string[];
  /** A CA certificate (basicConstraints CA:TRUE, keyCertSign). */
  isCa?: boolean;
  /** Signer; self-signed when absent. */
  issuer?: { commonName: string; key: string | KeyObject };
  /** Validity in days from one hour ago (default 3650). */
  days?: number;
}

export interface CertificateAndKey {
  /** PEM certificate. */
  cert: string;
  /** PEM (PKCS#8) private key. */
  key: string;
}

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  while (n > 0) {
    bytes.unshift(n & 0xff);
    n >>>= 8;
  }
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

const seq = (...c: Buffer[]): Buffer => tlv(0x30, ...c);

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const bytes: number[] = [parts[0]! * 40 + parts[1]!];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    let v = p >>> 7;
    while (v > 0) {
      chunk.unshift((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

function name(commonName: string): Buffer {
  return seq(tlv(0x31, seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(commonName, 'utf8')))));
}

function time(d: Date): Buffer {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const compact = iso.slice(0, 19).replace(/[-:T]/g, '') + 'Z';
  return d.getUTCFullYear() < 2050
    ? tlv(0x17, Buffer.from(compact.slice(2), 'latin1'))
    : tlv(0x18, Buffer.from(compact, 'latin1'));
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical
    ? seq(oid(id), tlv(0x01, Buffer.from([0xff])), tlv(0x04, value))
    : seq(oid(id), tlv(0x04, value));
}

const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));

function toPem(der: Buffer): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN CERTIFICATE-----\n${b64.replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
}

/** Creates a key pair and a certificate for it (self-signed unless `issuer` is given). */
export function createCertificate(req: CertificateRequest): CertificateAndKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  const notBefore = new Date(Date.now() - 3_600_000);
  const notAfter = new Date(notBefore.getTime() + (req.days ?? 3650) * 86_400_000);

  const extensions: Buffer[] = [
    extension('2.5.29.19', true, req.isCa === true ? seq(tlv(0x01, Buffer.from([0xff]))) : seq()),
    // keyUsage: CA keyCertSign + cRLSign; leaf digitalSignature + keyEncipherment.
    extension(
      '2.5.29.15',
      true,
      req.isCa === true ? tlv(0x03, Buffer.from([0x01, 0x06])) : tlv(0x03, Buffer.from([0x05, 0xa0])),
    ),
  ];
  if (req.altNames !== undefined && req.altNames.length > 0) {
    const names = req.altNames.map((n) =>
      isIP(n) !== 0 ? tlv(0x87, ipBytes(n)) : tlv(0x82, Buffer.from(n, 'latin1')),
    );
    extensions.push(extension('2.5.29.17', false, seq(...names)));
  }

  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([0x02]))),
    tlv(0x02, serial),
    ECDSA_SHA256,
    name(req.issuer?.commonName ?? req.commonName),
    seq(time(notBefore), time(notAfter)),
    name(req.commonName),
    publicKey.export({ type: 'spki', format: 'der' }),
    tlv(0xa3, seq(...extensions)),
  );
  const signer =
    req.issuer === undefined
      ? privateKey
      : typeof req.issuer.key === 'string'
        ? createPrivateKey(req.issuer.key)
        : req.issuer.key;
  const signature = sign('sha256', tbs, signer);
  const der = seq(tbs, ECDSA_SHA256, tlv(0x03, Buffer.from([0x00]), signature));
  return {
    cert: toPem(der),
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}

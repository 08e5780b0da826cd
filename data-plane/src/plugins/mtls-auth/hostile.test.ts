/**
 * Properties over hostile input: any plugin config is validated to a value or to field errors
 * (never a throw, never a polluted prototype); any bytes a client or a distribution point sends
 * as a certificate, a chain or a CRL end in a 401 or a refused CRL, never in an exception.
 */
import { X509Certificate } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { schema } from '@gatehouse/shared';
import plugin from './plugin.js';
import { mtlsAuthSpec } from './schema.js';
import { crlProblem, parseCrl } from './crl.js';
import { verifyChain } from './chain.js';
import { clientCertificateOf } from '../../tls/client-certificate.js';
import { initialise, outcome, pluginRequest, run, snapshotOf } from '../runtime/test-support.js';
import { TestCa } from './test-pki.js';

const ROOT_ID = '00000000-0000-4000-8000-000000000001';
let root: TestCa;
let crl: Buffer;

beforeAll(() => {
  root = TestCa.root('Hostile Root');
  root.revoke(root.client({ subject: '/CN=x' }));
  crl = root.crl();
}, 30_000);

const hostileValue = fc.oneof(
  fc.anything(),
  fc.constant('__proto__'),
  fc.constant({ ['__proto__']: { polluted: true } }),
  fc.array(fc.oneof(fc.uuid(), fc.string(), fc.integer())),
);
const configKeys = [...Object.keys(mtlsAuthSpec.schema.fields), '__proto__', 'constructor', 'unknown'];

describe('mtls-auth over hostile input', () => {
  it('validates any config to a value or field errors, without throwing or polluting prototypes', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...configKeys), hostileValue, { maxKeys: 8 }), (config) => {
        const result = schema.check(
          mtlsAuthSpec.schema,
          JSON.parse(JSON.stringify(config ?? null)) as unknown,
        );
        if (result.errors !== null) expect(Object.keys(result.errors).length).toBeGreaterThan(0);
        else
          expect((result.value as { ca_certificates: unknown[] }).ca_certificates.length).toBeGreaterThan(0);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it('refuses an empty or missing ca_certificates, ids that are not UUIDs, and unsupported proxy settings', () => {
    for (const config of [
      {},
      { ca_certificates: [] },
      { ca_certificates: ['not-a-uuid'] },
      { ca_certificates: [ROOT_ID], send_ca_dn: true },
      { ca_certificates: [ROOT_ID], http_proxy_host: 'proxy.example' },
      { ca_certificates: [ROOT_ID], revocation_check_mode: 'OCSP' },
      { ca_certificates: [ROOT_ID], consumer_by: ['id'] },
    ])
      expect(schema.check(mtlsAuthSpec.schema, config).errors, JSON.stringify(config)).not.toBeNull();
    expect(schema.check(mtlsAuthSpec.schema, { ca_certificates: [ROOT_ID] }).errors).toBeNull();
  });

  it('answers 401 to any bytes presented as a certificate or a chain', async () => {
    const s = snapshotOf({
      ca_certificates: [
        { id: ROOT_ID, cert: root.cert, cert_digest: 'd', tags: null, created_at: 0, updated_at: 0 },
      ],
    });
    const state = initialise(plugin, s, { ca_certificates: [ROOT_ID], revocation_check_mode: 'SKIP' });
    const real = new X509Certificate(root.cert).raw;
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 600 }),
      // A real certificate with bytes flipped or cut.
      fc.tuple(fc.nat({ max: real.length - 1 }), fc.integer({ min: 1, max: 255 })).map(([i, x]) => {
        const b = Buffer.from(real);
        b[i] = b[i]! ^ x;
        return b;
      }),
      fc.nat({ max: real.length }).map((n) => real.subarray(0, n)),
    );
    await fc.assert(
      fc.asyncProperty(bytes, fc.array(bytes, { maxLength: 3 }), async (leaf, chain) => {
        const links: Record<string, unknown>[] = [leaf, ...chain].map((raw) => ({ raw: Buffer.from(raw) }));
        links.forEach((l, i) => (l.issuerCertificate = links[i + 1]));
        const ctx = pluginRequest(s, {});
        Object.assign(ctx.req, {
          socket: { remoteAddress: '127.0.0.1', encrypted: true, getPeerCertificate: () => links[0] },
        });
        await run(plugin.access!(ctx, state));
        expect(outcome(ctx).answer?.status).toBe(401);
      }),
      { numRuns: 200 },
    );
  });

  it('reads a certificate object with a cyclic or endless issuer chain without looping', () => {
    const real = new X509Certificate(root.cert).raw;
    const a: Record<string, unknown> = { raw: real };
    const b: Record<string, unknown> = { raw: real, issuerCertificate: a };
    a.issuerCertificate = b;
    const got = clientCertificateOf({ encrypted: true, getPeerCertificate: () => a } as never);
    expect(got?.chain.length).toBeLessThanOrEqual(10);
    const leaf = new X509Certificate(root.cert);
    expect(
      verifyChain(leaf, Array(50).fill(leaf), [], { allowPartialChain: true, nowMs: Date.now() }).ok,
    ).toBe(false);
  });

  it('refuses any bytes served as a CRL with an Error, and a tampered CRL by its signature', () => {
    const issuer = new X509Certificate(root.cert);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 800 }).map((b) => Buffer.from(b)),
          fc.tuple(fc.nat({ max: crl.length - 1 }), fc.integer({ min: 1, max: 255 })).map(([i, x]) => {
            const b = Buffer.from(crl);
            b[i] = b[i]! ^ x;
            return b;
          }),
          fc.nat({ max: crl.length - 1 }).map((n) => crl.subarray(0, n)),
        ),
        (bytes) => {
          let parsed: ReturnType<typeof parseCrl> | null = null;
          try {
            parsed = parseCrl(bytes);
          } catch (e) {
            expect(e).toBeInstanceOf(Error);
            return;
          }
          // It parsed: flipped bytes must not pass as the CA's own list unless they left it whole.
          const problem = crlProblem(parsed, issuer, Date.now());
          if (problem === null)
            expect(bytes.equals(crl) || parsed.signed.equals(parseCrl(crl).signed)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
    expect(crlProblem(parseCrl(crl), issuer, Date.now())).toBeNull();
  });
});

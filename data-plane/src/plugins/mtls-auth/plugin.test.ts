import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaCertificate, Consumer, GatehouseConfig, MtlsAuthCredential } from '@gatehouse/shared';
import { createCertificate } from '../../tls/x509.js';
import plugin from './plugin.js';
import { initialise, outcome, pluginRequest, run, snapshotOf } from '../runtime/test-support.js';
import { TestCa, type Issued } from './test-pki.js';

const consumer = (id: string, username: string | null, custom_id: string | null = null): Consumer => ({
  id,
  username,
  custom_id,
  tags: null,
  created_at: 0,
  updated_at: 0,
});
const caEntity = (id: string, cert: string): CaCertificate => ({
  id,
  cert,
  cert_digest: id,
  tags: null,
  created_at: 0,
  updated_at: 0,
});
const credential = (
  id: string,
  consumerId: string,
  subject: string,
  ca: string | null,
): MtlsAuthCredential => ({
  id,
  consumer: { id: consumerId },
  subject_name: subject,
  ca_certificate: ca === null ? null : { id: ca },
  tags: null,
  created_at: 0,
});

const ROOT_ID = '00000000-0000-4000-8000-000000000001';
const OTHER_ID = '00000000-0000-4000-8000-000000000002';
const INTER_ID = '00000000-0000-4000-8000-000000000003';
const MISSING_ID = '00000000-0000-4000-8000-0000000000ff';

let root: TestCa;
let other: TestCa;
let inter: TestCa;
let alice: Issued;
let bob: Issued;
let carol: Issued;
let stranger: Issued;
let serverOnly: Issued;
let revoked: Issued;
let crlServer: http.Server;
let crlUrl: string;
let crlAnswers = 0;
let crlStatus = 200;
let snapshot: ReturnType<typeof snapshotOf>;

async function access(
  config: Record<string, unknown>,
  tls: { cert?: string; chain?: readonly string[] } | undefined,
  s = snapshot,
) {
  const state = initialise(plugin, s, {
    ca_certificates: [ROOT_ID],
    revocation_check_mode: 'SKIP',
    ...config,
  });
  const ctx = pluginRequest(s, tls === undefined ? {} : { tls });
  await run(plugin.access!(ctx, state));
  return { ctx, out: outcome(ctx) };
}

beforeAll(async () => {
  crlServer = http.createServer((req, res) => {
    crlAnswers++;
    if (crlStatus !== 200) {
      res.writeHead(crlStatus).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/pkix-crl' }).end(root.crl());
  });
  await new Promise<void>((r) => crlServer.listen(0, '127.0.0.1', r));
  crlUrl = `http://127.0.0.1:${(crlServer.address() as AddressInfo).port}/root.crl`;
  root = TestCa.root('Unit Root');
  other = TestCa.root('Other Root');
  inter = root.intermediate('Unit Intermediate');
  alice = root.client({ subject: '/O=Example/CN=alice', san: 'DNS:alice.example', crlUrl });
  bob = inter.client({ subject: '/CN=bob' });
  carol = root.client({ subject: '/CN=carol-cn', san: 'DNS:carol.example,email:carol@example.com' });
  stranger = other.client({ subject: '/CN=alice' });
  serverOnly = root.client({ subject: '/CN=alice', eku: 'serverAuth' });
  revoked = root.client({ subject: '/CN=alice', crlUrl });
  root.revoke(revoked);
  const config: Partial<GatehouseConfig> = {
    consumers: [
      consumer('c-alice', 'alice'),
      consumer('c-carol', null, 'carol.example'),
      consumer('c-dflt', 'fallback'),
      consumer('c-anon', 'anon'),
    ],
    ca_certificates: [
      caEntity(ROOT_ID, root.cert),
      caEntity(OTHER_ID, other.cert),
      caEntity(INTER_ID, inter.cert),
    ],
    mtls_auth_credentials: [credential('m-bob', 'c-alice', 'bob', ROOT_ID)],
  };
  snapshot = snapshotOf(config);
}, 60_000);

afterAll(async () => {
  await new Promise<void>((r) => crlServer.close(() => r()));
});

describe('mtls-auth handler', () => {
  it('answers 401 "No required TLS certificate was sent" without a certificate, on TLS or plain HTTP', async () => {
    for (const tls of [undefined, {}]) {
      const { out } = await access({}, tls);
      expect(out.answer).toMatchObject({
        status: 401,
        json: { message: 'No required TLS certificate was sent' },
      });
    }
  });

  it('authenticates a certificate of a configured CA whose CN is a consumer username, with consumer headers only', async () => {
    const { ctx, out } = await access({}, { cert: alice.cert });
    expect(out.answer).toBeNull();
    expect(ctx.consumer?.id).toBe('c-alice');
    expect(ctx.credential).toMatchObject({ type: 'mtls-auth', consumerId: 'c-alice' });
    expect(out.upstreamHeaders['x-consumer-username']).toBe('alice');
    expect(out.upstreamHeaders['x-client-cert-dn']).toBeNull();
  });

  it('answers 401 "TLS certificate failed verification" for another CA, a server-only certificate, an expired one, a self-signed one', async () => {
    const caKey = createCertificate({ commonName: 'Expiring CA', isCa: true });
    const expired = createCertificate({
      commonName: 'alice',
      issuer: { commonName: 'Expiring CA', key: caKey.key },
      days: 0,
    });
    const selfSigned = createCertificate({ commonName: 'alice' });
    const s = snapshotOf({
      consumers: [consumer('c-alice', 'alice')],
      ca_certificates: [caEntity(ROOT_ID, root.cert), caEntity(OTHER_ID, caKey.cert)],
    });
    for (const cert of [stranger.cert, serverOnly.cert, expired.cert, selfSigned.cert]) {
      const { out } = await access({}, { cert }, s);
      expect(out.answer).toMatchObject({
        status: 401,
        json: { message: 'TLS certificate failed verification' },
      });
    }
    // The same certificates of a CA the plugin names do verify.
    const { ctx } = await access({ ca_certificates: [OTHER_ID] }, { cert: stranger.cert });
    expect(ctx.consumer?.id).toBe('c-alice');
  });

  it('matches a SAN against custom_id, and an mtls_auth_credentials subject_name for its CA', async () => {
    const { ctx } = await access({}, { cert: carol.cert });
    expect(ctx.consumer?.id).toBe('c-carol');
    const viaCredential = await access({}, { cert: bob.cert, chain: [inter.cert] });
    expect(viaCredential.ctx.consumer?.id).toBe('c-alice');
    expect(viaCredential.ctx.credential?.id).toBe('m-bob');
  });

  it('refuses a name match when consumer_by excludes it, and falls back to default_consumer with certificate headers', async () => {
    const { out } = await access({ consumer_by: ['custom_id'] }, { cert: alice.cert });
    expect(out.answer).toMatchObject({
      status: 401,
      json: { message: 'TLS certificate failed verification' },
    });
    const dflt = await access({ consumer_by: [], default_consumer: 'fallback' }, { cert: alice.cert });
    expect(dflt.ctx.consumer?.id).toBe('c-dflt');
    expect(dflt.out.upstreamHeaders['x-client-cert-dn']).toBe('CN=alice,O=Example');
    expect(dflt.out.upstreamHeaders['x-client-cert-san']).toBe('alice.example');
  });

  it('with skip_consumer_lookup, lets any verified certificate in with its CN (or DN) as the authenticated group', async () => {
    const cn = await access({ skip_consumer_lookup: true, consumer_by: [] }, { cert: alice.cert });
    expect(cn.out.answer).toBeNull();
    expect(cn.ctx.consumer).toBeNull();
    expect(cn.ctx.shared.authenticated_groups).toEqual(['alice']);
    expect(cn.out.upstreamHeaders['x-client-cert-dn']).toBe('CN=alice,O=Example');
    const dn = await access(
      { skip_consumer_lookup: true, authenticated_group_by: 'DN' },
      { cert: alice.cert },
    );
    expect(dn.ctx.shared.authenticated_groups).toEqual(['CN=alice,O=Example']);
    const bad = await access({ skip_consumer_lookup: true }, { cert: stranger.cert });
    expect(bad.out.answer).toMatchObject({ status: 401 });
  });

  it('needs the root for an intermediate-issued certificate unless allow_partial_chain', async () => {
    const partial = { ca_certificates: [INTER_ID], skip_consumer_lookup: true };
    expect((await access(partial, { cert: bob.cert })).out.answer).toMatchObject({ status: 401 });
    const allowed = await access({ ...partial, allow_partial_chain: true }, { cert: bob.cert });
    expect(allowed.out.answer).toBeNull();
    expect(allowed.ctx.shared.authenticated_groups).toEqual(['bob']);
    // bob's credential names the root: verified through the intermediate alone, it does not match.
    const scoped = await access(
      { ca_certificates: [INTER_ID], allow_partial_chain: true },
      { cert: bob.cert },
    );
    expect(scoped.out.answer).toMatchObject({ status: 401 });
    // Root configured: the client sends its intermediate.
    expect((await access({}, { cert: bob.cert, chain: [inter.cert] })).ctx.consumer?.id).toBe('c-alice');
    expect((await access({}, { cert: bob.cert })).out.answer).toMatchObject({ status: 401 });
  });

  it('falls back to anonymous on failure, and fails closed when its only CA id names nothing', async () => {
    const anon = await access({ anonymous: 'anon' }, { cert: stranger.cert });
    expect(anon.ctx.consumer?.id).toBe('c-anon');
    expect(anon.ctx.anonymous).toBe(true);
    const none = await access({ ca_certificates: [MISSING_ID] }, { cert: alice.cert });
    expect(none.out.answer).toMatchObject({ status: 401 });
  });

  it('refuses a revoked certificate listed on its CRL distribution point and admits one that is not', async () => {
    const config = { revocation_check_mode: 'IGNORE_CA_ERROR', cert_cache_ttl: 0 };
    const bad = await access(config, { cert: revoked.cert });
    expect(bad.out.answer).toMatchObject({
      status: 401,
      json: { message: 'TLS certificate failed verification' },
    });
    expect((await access(config, { cert: alice.cert })).ctx.consumer?.id).toBe('c-alice');
  });

  it('when the CRL cannot be had: IGNORE_CA_ERROR lets the certificate in, STRICT refuses it; STRICT refuses a certificate without a CRL', async () => {
    crlStatus = 503;
    try {
      const ignore = await access(
        { revocation_check_mode: 'IGNORE_CA_ERROR', cert_cache_ttl: 0 },
        { cert: alice.cert },
      );
      expect(ignore.ctx.consumer?.id).toBe('c-alice');
      const strict = await access(
        { revocation_check_mode: 'STRICT', cert_cache_ttl: 0 },
        { cert: alice.cert },
      );
      expect(strict.out.answer).toMatchObject({ status: 401 });
    } finally {
      crlStatus = 200;
    }
    const noCrl = await access({ revocation_check_mode: 'STRICT' }, { cert: carol.cert });
    expect(noCrl.out.answer).toMatchObject({ status: 401 });
    const withCrl = await access(
      { revocation_check_mode: 'STRICT', cert_cache_ttl: 0 },
      { cert: alice.cert },
    );
    expect(withCrl.ctx.consumer?.id).toBe('c-alice');
  });

  it('downloads a CRL once per cert_cache_ttl', async () => {
    const before = crlAnswers;
    for (let i = 0; i < 3; i++)
      await access({ revocation_check_mode: 'STRICT', cert_cache_ttl: 600_000 }, { cert: alice.cert });
    expect(crlAnswers - before).toBeLessThanOrEqual(1);
  });

  it("removes a client's own X-Client-Cert-* headers", async () => {
    const state = initialise(plugin, snapshot, { ca_certificates: [ROOT_ID], revocation_check_mode: 'SKIP' });
    const ctx = pluginRequest(snapshot, {
      tls: { cert: alice.cert },
      headers: [['X-Client-Cert-Dn', 'CN=admin']],
    });
    await run(plugin.access!(ctx, state));
    expect(outcome(ctx).upstreamHeaders['x-client-cert-dn']).toBeNull();
  });
});

import { createHash, createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, consumer, plugin, startGateway, type Gateway, type SeenRequest } from './helpers.js';

const now = Math.floor(Date.now() / 1000);
const SECRET = 'hmac-secret';

function authorization(opts: {
  date: string;
  method?: string;
  target?: string;
  algorithm?: string;
  headers?: string;
  secret?: string;
  extra?: Record<string, string>;
}): string {
  const algorithm = opts.algorithm ?? 'hmac-sha256';
  const headers = opts.headers ?? 'date request-line';
  const lines = headers.split(' ').map((h) => {
    if (h === 'date') return `date: ${opts.date}`;
    if (h === 'request-line') return `${opts.method ?? 'GET'} ${opts.target ?? '/x'} HTTP/1.1`;
    return `${h}: ${opts.extra?.[h] ?? ''}`;
  });
  const digest = algorithm.replace('hmac-', '');
  const signature = createHmac(digest, opts.secret ?? SECRET)
    .update(lines.join('\n'))
    .digest('base64');
  return `hmac username="alice-hmac", algorithm="${algorithm}", headers="${headers}", signature="${signature}"`;
}

describe('Plugin: hmac-auth (access, real ProxyServer)', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(async () => {
    await gw.close();
  });
  const apply = (config: Record<string, unknown> = {}) =>
    gw.apply({
      consumers: [consumer('alice')],
      hmacauth_credentials: [
        {
          id: 'h1',
          consumer: { id: 'alice' },
          username: 'alice-hmac',
          secret: SECRET,
          tags: null,
          created_at: now,
        },
      ],
      plugins: [plugin('hmac-auth', config, { route: { id: 'r' } })],
    });
  const date = () => new Date().toUTCString();

  it('returns 401 "Unauthorized" when there is no Authorization header', async () => {
    apply();
    const r = await call(gw.port, '/x');
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body.toString())).toEqual({ message: 'Unauthorized' });
  });

  it('proxies a correctly signed request with the consumer headers', async () => {
    apply();
    const d = date();
    const r = await call(gw.port, '/x', { headers: { date: d, authorization: authorization({ date: d }) } });
    expect(r.status).toBe(200);
    expect(r.json<SeenRequest>().headers['x-credential-identifier']).toBe('alice-hmac');
  });

  it('returns 401 when the Date is outside clock_skew (replay)', async () => {
    apply();
    const d = new Date(Date.now() - 301_000).toUTCString();
    const r = await call(gw.port, '/x', { headers: { date: d, authorization: authorization({ date: d }) } });
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body.toString()).message).toMatch(/a valid date or x-date header is required/);
  });

  it('returns 401 "HMAC signature does not match" for a wrong signature', async () => {
    apply();
    const d = date();
    const r = await call(gw.port, '/x', {
      headers: { date: d, authorization: authorization({ date: d, secret: 'other' }) },
    });
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body.toString())).toEqual({ message: 'HMAC signature does not match' });
  });

  it('returns 401 for an algorithm not in algorithms and for an unsigned enforced header', async () => {
    apply({ algorithms: ['hmac-sha512'] });
    const d = date();
    expect(
      (await call(gw.port, '/x', { headers: { date: d, authorization: authorization({ date: d }) } })).status,
    ).toBe(401);
    apply({ enforce_headers: ['x-extra'] });
    expect(
      (await call(gw.port, '/x', { headers: { date: d, authorization: authorization({ date: d }) } })).status,
    ).toBe(401);
  });

  it('checks the body digest when validate_request_body is set', async () => {
    apply({ validate_request_body: true, hide_credentials: true });
    const d = date();
    const body = '{"a":1}';
    const good = `SHA-256=${createHash('sha256').update(body).digest('base64')}`;
    const headers = (digest: string) => ({
      date: d,
      digest,
      'content-type': 'application/json',
      authorization: authorization({
        date: d,
        method: 'POST',
        headers: 'date request-line digest',
        extra: { digest },
      }),
    });
    const ok = await call(gw.port, '/x', { method: 'POST', headers: headers(good), body });
    expect(ok.status).toBe(200);
    expect(ok.json<SeenRequest>().bodyLength).toBe(body.length);
    expect(ok.json<SeenRequest>().headers.authorization).toBeUndefined();
    const bad = await call(gw.port, '/x', { method: 'POST', headers: headers(good), body: '{"a":2}' });
    expect(bad.status).toBe(401);
  });
});

import { createHash, createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, consumer, plugin, startGateway, type Gateway, type SeenRequest } from './helpers.js';
import { parseRaw, rawRequest } from '../traffic/helpers.js';

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
  httpVersion?: string;
  /** Text before `hmac` (Kong's pattern is searched anywhere in the value). */
  prefix?: string;
  scheme?: string;
}): string {
  const algorithm = opts.algorithm ?? 'hmac-sha256';
  const headers = opts.headers ?? 'date request-line';
  const lines = headers.split(' ').map((h) => {
    if (h.toLowerCase() === 'date') return `${h}: ${opts.date}`;
    if (h === 'request-line')
      return `${opts.method ?? 'GET'} ${opts.target ?? '/x'} HTTP/${opts.httpVersion ?? '1.1'}`;
    return `${h}: ${opts.extra?.[h] ?? ''}`;
  });
  const digest = algorithm.replace('hmac-', '');
  const signature = createHmac(digest, opts.secret ?? SECRET)
    .update(lines.join('\n'))
    .digest('base64');
  return `${opts.prefix ?? ''}${opts.scheme ?? 'hmac'} username="alice-hmac", algorithm="${algorithm}", headers="${headers}", signature="${signature}"`;
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

  // spec/03-plugins/19-hmac-auth/03-access_spec.lua: the body-validation cases send
  // `"hmac username=…` (a stray quote), and "no space or space between hmac signatures fields".
  it("accepts Kong's leniencies of the Authorization value", async () => {
    apply();
    const d = date();
    for (const value of [
      authorization({ date: d, prefix: '"' }),
      authorization({ date: d, scheme: 'Hmac' }),
      authorization({ date: d, prefix: 'junk ' }),
      authorization({ date: d }).replace('hmac username', 'hmacusername').replaceAll(', ', ',  '),
    ]) {
      const r = await call(gw.port, '/x', { headers: { date: d, authorization: value } });
      expect(r.status, value).toBe(200);
    }
  });

  // spec/03-plugins/19-hmac-auth/03-access_spec.lua "wrong hmac headers field name", "malformed
  // hmac signature field", "should not pass with GET with wrong algorithm".
  it('refuses what Kong refuses: a field missing, misnamed or without its comma; an algorithm not written as listed', async () => {
    apply();
    const d = date();
    const good = authorization({ date: d });
    for (const value of [
      good.replace('headers=', 'wrong_header='),
      good.replace('", headers', '" headers'),
      good.replace(/headers="[^"]*", /, ''),
      authorization({ date: d, scheme: 'HMAC' }),
      good.replace('algorithm="hmac-sha256"', 'algorithm="HMAC-SHA256"'),
    ]) {
      const r = await call(gw.port, '/x', { headers: { date: d, authorization: value } });
      expect(r.status, value).toBe(401);
      expect(JSON.parse(r.body.toString()), value).toEqual({ message: 'HMAC signature cannot be verified' });
    }
  });

  it('signs header names as listed and compares enforce_headers exactly', async () => {
    apply();
    const d = date();
    const signed = authorization({ date: d, headers: 'Date request-line' });
    expect((await call(gw.port, '/x', { headers: { date: d, authorization: signed } })).status).toBe(200);
    apply({ enforce_headers: ['date'] });
    expect((await call(gw.port, '/x', { headers: { date: d, authorization: signed } })).status).toBe(401);
  });

  // spec/03-plugins/19-hmac-auth/03-access_spec.lua "should encode http-1 requests as http/1.0".
  it("signs request-line with the request's HTTP version", async () => {
    apply();
    const d = date();
    const value = authorization({ date: d, httpVersion: '1.0' });
    const { data } = await rawRequest(
      gw.port,
      `GET /x HTTP/1.0\r\nHost: localhost\r\nDate: ${d}\r\nAuthorization: ${value}\r\n\r\n`,
      () => undefined,
    );
    expect(parseRaw(data).status).toBe(200);
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
    // Kong compares the header as a string: another spelling of the same digest is refused.
    const hash = createHash('sha256').update(body).digest('base64');
    for (const spelling of [
      `sha-256=${hash}`,
      `SHA-256=${hash.replace(/=+$/, '')}`,
      `SHA-256=${createHash('sha256').update(body).digest('base64url')}`,
    ]) {
      const r = await call(gw.port, '/x', { method: 'POST', headers: headers(spelling), body });
      expect(r.status, spelling).toBe(401);
      expect(r.json<{ message: string }>().message).toBe('HMAC signature does not match');
    }
  });
});

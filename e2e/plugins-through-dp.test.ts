/**
 * Every bundled security plugin through a real data plane process (`gatehouse dp --config`,
 * DB-less, 2 workers) in front of a real upstream that echoes what it received.
 */
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { tempDir, type Proc, startDblessDp } from './helpers/processes.js';

const JWT_SECRET = 'e2e-jwt-secret-with-enough-length!';
const HMAC_SECRET = 'e2e-hmac-secret';

function declarativeFile(upstream: string): string {
  const route = (name: string, path: string, plugins: unknown[]) => ({ name, paths: [path], plugins });
  return stringify({
    _format_version: '3.0',
    services: [
      {
        name: 'echo',
        url: upstream,
        routes: [
          route('key', '/key', [{ name: 'key-auth', config: { hide_credentials: true } }]),
          route('basic', '/basic', [{ name: 'basic-auth', config: { hide_credentials: true } }]),
          route('jwt', '/jwt', [{ name: 'jwt' }]),
          route('hmac', '/hmac', [{ name: 'hmac-auth', config: { enforce_headers: ['date'] } }]),
          route('acl-allow', '/acl-allow', [
            { name: 'key-auth' },
            { name: 'acl', config: { allow: ['gold'] } },
          ]),
          route('acl-deny', '/acl-deny', [{ name: 'key-auth' }, { name: 'acl', config: { deny: ['gold'] } }]),
          route('ip', '/ip', [{ name: 'ip-restriction', config: { deny: ['127.0.0.0/8', '::1'] } }]),
          route('cors', '/cors', [
            { name: 'cors', config: { origins: ['https://app.example'], credentials: true } },
          ]),
          route('bot', '/bot', [{ name: 'bot-detection' }]),
          route('size', '/size', [
            { name: 'request-size-limiting', config: { allowed_payload_size: 1, size_unit: 'kilobytes' } },
          ]),
          route('term', '/term', [
            { name: 'request-termination', config: { status_code: 503, message: 'Down for maintenance' } },
          ]),
        ],
      },
    ],
    consumers: [
      {
        username: 'alice',
        custom_id: 'alice-1',
        keyauth_credentials: [{ key: 'alice-key' }],
        basicauth_credentials: [{ username: 'alice', password: 'open-sesame' }],
        jwt_secrets: [{ key: 'alice-iss', algorithm: 'HS256', secret: JWT_SECRET }],
        hmacauth_credentials: [{ username: 'alice-hmac', secret: HMAC_SECRET }],
        acls: [{ group: 'gold' }],
      },
    ],
  });
}

describe('security plugins through a real data plane process', () => {
  let upstream: Server;
  let dp: Proc;
  let proxy: string;

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.stringify({
          url: req.url,
          headers: req.headers,
          bytes: Buffer.concat(chunks).length,
        });
        res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    const up = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
    const dir = tempDir('plugins');
    const file = join(dir, 'kong.yaml');
    writeFileSync(file, declarativeFile(up));
    ({ proc: dp, proxy } = await startDblessDp({ file, dataDir: join(dir, 'dp'), workers: 2 }));
  });

  afterAll(async () => {
    await dp?.stop();
    upstream?.closeAllConnections();
    await new Promise((r) => upstream?.close(r));
  });

  const get = (path: string, headers: Record<string, string> = {}, init: RequestInit = {}) =>
    fetch(`${proxy}${path}`, { headers, ...init, signal: AbortSignal.timeout(10_000) });

  it('key-auth: returns 401 without a key and forwards the consumer, not the key, with one', async () => {
    const missing = await get('/key');
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({ message: 'No API key found in request' });
    expect((await get('/key', { apikey: 'wrong' })).status).toBe(401);
    const ok = await get('/key', { apikey: 'alice-key' });
    expect(ok.status).toBe(200);
    const seen = (await ok.json()) as { headers: Record<string, string> };
    expect(seen.headers['x-consumer-username']).toBe('alice');
    expect(seen.headers['x-consumer-custom-id']).toBe('alice-1');
    expect(seen.headers.apikey).toBeUndefined();
  });

  it('basic-auth: returns 401 for a wrong password and 200 for the right one', async () => {
    const basic = (u: string, p: string) => ({
      authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`,
    });
    expect((await get('/basic')).status).toBe(401);
    expect((await get('/basic', basic('alice', 'nope'))).status).toBe(401);
    const ok = await get('/basic', basic('alice', 'open-sesame'));
    expect(ok.status).toBe(200);
    const seen = (await ok.json()) as { headers: Record<string, string> };
    expect(seen.headers['x-consumer-username']).toBe('alice');
    expect(seen.headers.authorization).toBeUndefined();
  });

  it('jwt: accepts a token signed with the consumer secret and rejects alg none and expired tokens', async () => {
    const key = new TextEncoder().encode(JWT_SECRET);
    const good = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('alice-iss')
      .setExpirationTime('5m')
      .sign(key);
    const expired = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('alice-iss')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(key);
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from('{"iss":"alice-iss"}').toString('base64url')}.`;
    expect((await get('/jwt', { authorization: `Bearer ${good}` })).status).toBe(200);
    expect((await get('/jwt', { authorization: `Bearer ${expired}` })).status).toBe(401);
    expect((await get('/jwt', { authorization: `Bearer ${none}` })).status).toBe(401);
    expect((await get('/jwt')).status).toBe(401);
  });

  it('hmac-auth: accepts a correctly signed request and rejects a bad signature', async () => {
    const date = new Date().toUTCString();
    const sign = (secret: string) =>
      createHmac('sha256', secret).update(`date: ${date}\nGET /hmac HTTP/1.1`).digest('base64');
    const auth = (sig: string) =>
      `hmac username="alice-hmac", algorithm="hmac-sha256", headers="date request-line", signature="${sig}"`;
    expect((await get('/hmac', { date, authorization: auth(sign(HMAC_SECRET)) })).status).toBe(200);
    expect((await get('/hmac', { date, authorization: auth(sign('other')) })).status).toBe(401);
  });

  it('acl: lets a consumer of an allowed group through and forbids a denied one', async () => {
    expect((await get('/acl-allow', { apikey: 'alice-key' })).status).toBe(200);
    const denied = await get('/acl-deny', { apikey: 'alice-key' });
    expect(denied.status).toBe(403);
    expect(await denied.json()).toEqual({ message: 'You cannot consume this service' });
  });

  it('ip-restriction: returns 403 to a denied client IP and ignores a spoofed X-Forwarded-For', async () => {
    expect((await get('/ip')).status).toBe(403);
    expect((await get('/ip', { 'x-forwarded-for': '203.0.113.9' })).status).toBe(403);
  });

  it('cors: answers a preflight without the upstream and adds headers to the response', async () => {
    const pre = await get(
      '/cors',
      { origin: 'https://app.example', 'access-control-request-method': 'GET' },
      { method: 'OPTIONS' },
    );
    expect(pre.status).toBe(200);
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(pre.headers.get('access-control-allow-credentials')).toBe('true');
    const actual = await get('/cors', { origin: 'https://app.example' });
    expect(actual.headers.get('access-control-allow-origin')).toBe('https://app.example');
    // As Kong: with one configured origin it is always the one sent, so a browser on another
    // origin sees a mismatch and blocks the response.
    const other = await get('/cors', { origin: 'https://evil.example' });
    expect(other.headers.get('access-control-allow-origin')).toBe('https://app.example');
  });

  it('bot-detection: forbids a known bad bot and lets a browser through', async () => {
    expect(
      (await get('/bot', { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0' })).status,
    ).toBe(200);
    expect((await get('/bot', { 'user-agent': 'Scrapy/2.11.0 (+https://scrapy.org)' })).status).toBe(403);
  });

  it('request-size-limiting: returns 413 for a body over the limit and passes a small one', async () => {
    expect((await get('/size', {}, { method: 'POST', body: 'x'.repeat(512) })).status).toBe(200);
    const big = await get('/size', {}, { method: 'POST', body: 'x'.repeat(4096) });
    expect(big.status).toBe(413);
    expect(await big.json()).toEqual({ message: 'Request size limit exceeded' });
  });

  it('request-termination: answers with the configured status and message', async () => {
    const r = await get('/term');
    expect(r.status).toBe(503);
    expect(await r.json()).toEqual({ message: 'Down for maintenance' });
  });
});

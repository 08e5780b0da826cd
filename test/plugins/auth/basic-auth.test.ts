import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashBasicAuthPassword } from '@gatehouse/shared';
import { call, consumer, plugin, startGateway, type Gateway, type SeenRequest } from './helpers.js';

const now = Math.floor(Date.now() / 1000);
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('Plugin: basic-auth (access, real ProxyServer)', () => {
  let gw: Gateway;
  const hash = hashBasicAuthPassword('s3cret:with:colons');
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(async () => {
    await gw.close();
  });
  const apply = (config: Record<string, unknown> = {}) =>
    gw.apply({
      consumers: [consumer('alice'), consumer('anon')],
      basicauth_credentials: [
        {
          id: 'b1',
          consumer: { id: 'alice' },
          username: 'alice-user',
          password: hash,
          tags: null,
          created_at: now,
        },
      ],
      plugins: [plugin('basic-auth', config, { route: { id: 'r' } })],
    });

  it('returns 401 with a Basic challenge (realm "service") when credentials are missing', async () => {
    apply();
    const r = await call(gw.port, '/x');
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body.toString())).toEqual({ message: 'Unauthorized' });
    expect(r.headers['www-authenticate']).toBe('Basic realm="service"');
  });

  it('returns 401 for a wrong password, an unknown user and a malformed header', async () => {
    apply();
    for (const h of [
      basic('alice-user', 'wrong'),
      basic('bob', 's3cret:with:colons'),
      'Basic !!!',
      'Bearer x',
    ]) {
      const r = await call(gw.port, '/x', { headers: { authorization: h } });
      expect(r.status, h).toBe(401);
      expect(JSON.parse(r.body.toString())).toEqual({ message: 'Unauthorized' });
    }
  });

  it('proxies with the consumer headers for the right password, twice (second from the cache)', async () => {
    apply();
    for (let i = 0; i < 2; i++) {
      const r = await call(gw.port, '/x', {
        headers: { authorization: basic('alice-user', 's3cret:with:colons') },
      });
      expect(r.status).toBe(200);
      const seen = r.json<SeenRequest>();
      expect(seen.headers['x-consumer-id']).toBe('alice');
      expect(seen.headers['x-credential-identifier']).toBe('alice-user');
      expect(seen.headers.authorization).toBeDefined();
    }
  });

  it('accepts Proxy-Authorization too', async () => {
    apply();
    const r = await call(gw.port, '/x', {
      headers: { 'proxy-authorization': basic('alice-user', 's3cret:with:colons') },
    });
    expect(r.status).toBe(200);
  });

  it('strips Authorization before the upstream when hide_credentials is set', async () => {
    apply({ hide_credentials: true });
    const r = await call(gw.port, '/x', {
      headers: { authorization: basic('alice-user', 's3cret:with:colons') },
    });
    expect(r.status).toBe(200);
    expect(r.json<SeenRequest>().headers.authorization).toBeUndefined();
  });

  it('falls back to the anonymous consumer on a wrong password', async () => {
    apply({ anonymous: 'anon' });
    const r = await call(gw.port, '/x', { headers: { authorization: basic('alice-user', 'nope') } });
    expect(r.status).toBe(200);
    expect(r.json<SeenRequest>().headers['x-anonymous-consumer']).toBe('true');
  });

  it('never logs the Authorization value', async () => {
    apply();
    gw.logs.text = '';
    await call(gw.port, '/x', { headers: { authorization: basic('alice-user', 'LEAKED-PASSWORD') } });
    expect(gw.logs.text).not.toContain('LEAKED-PASSWORD');
    expect(gw.logs.text).not.toContain(Buffer.from('alice-user:LEAKED-PASSWORD').toString('base64'));
  });
});

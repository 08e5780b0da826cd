import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateUpstream } from '@gatehouse/shared';
import {
  call,
  consumer,
  plugin,
  route,
  service,
  startGateway,
  type Gateway,
  type SeenRequest,
} from './helpers.js';
import { parseRaw, rawRequest } from '../traffic/helpers.js';

const now = Math.floor(Date.now() / 1000);
const cred = (id: string, consumerId: string, key: string, ttl: number | null = null) => ({
  id,
  consumer: { id: consumerId },
  key,
  ttl,
  tags: null,
  created_at: now,
});

describe('Plugin: key-auth (access, real ProxyServer)', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(async () => {
    await gw.close();
  });

  const base = (config: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
    consumers: [consumer('alice', { custom_id: 'c-alice' }), consumer('anon')],
    keyauth_credentials: [cred('k1', 'alice', 'alice-secret'), cred('k2', 'alice', 'old-key', 1)],
    plugins: [plugin('key-auth', config, { route: { id: 'r' } })],
    ...extra,
  });

  it('returns 401 "No API key found in request" when the key is missing', async () => {
    gw.apply(base());
    const r = await call(gw.port, '/x');
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body.toString())).toEqual({ message: 'No API key found in request' });
    expect(r.headers['www-authenticate']).toBe('Key');
  });

  it('returns 401 "Unauthorized" for an unknown key, with the realm when configured', async () => {
    gw.apply(base({ realm: 'gatehouse' }));
    const r = await call(gw.port, '/x', { headers: { apikey: 'nope' } });
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body.toString())).toEqual({ message: 'Unauthorized' });
    expect(r.headers['www-authenticate']).toBe('Key realm="gatehouse"');
  });

  it('proxies with the consumer headers when the key is valid, replacing spoofed ones', async () => {
    gw.apply(base());
    const r = await call(gw.port, '/x', {
      headers: { apikey: 'alice-secret', 'x-consumer-id': 'spoofed', 'x-anonymous-consumer': 'true' },
    });
    expect(r.status).toBe(200);
    const seen = r.json<SeenRequest>();
    expect(seen.headers['x-consumer-id']).toBe('alice');
    expect(seen.headers['x-consumer-username']).toBe('alice');
    expect(seen.headers['x-consumer-custom-id']).toBe('c-alice');
    expect(seen.headers['x-credential-identifier']).toBe('k1');
    expect(seen.headers['x-anonymous-consumer']).toBeUndefined();
    expect(seen.headers.apikey).toBe('alice-secret');
  });

  it('returns 401 for a key whose ttl has passed', async () => {
    gw.apply(base());
    await new Promise((r) => setTimeout(r, 1100));
    const r = await call(gw.port, '/x', { headers: { apikey: 'old-key' } });
    expect(r.status).toBe(401);
  });

  it('accepts a key in the query string and never logs it', async () => {
    gw.apply(base({ hide_credentials: true }));
    gw.logs.text = '';
    const ok = await call(gw.port, '/x?apikey=alice-secret&keep=1');
    expect(ok.status).toBe(200);
    expect(ok.json<SeenRequest>().url).toBe('/x?keep=1');
    const bad = await call(gw.port, '/x?apikey=WRONG-QUERY-SECRET');
    expect(bad.status).toBe(401);
    expect(gw.logs.text).not.toContain('alice-secret');
    expect(gw.logs.text).not.toContain('WRONG-QUERY-SECRET');
  });

  it('strips the key header before the upstream when hide_credentials is set', async () => {
    gw.apply(base({ hide_credentials: true, key_names: ['x-api-key'] }));
    const r = await call(gw.port, '/x', { headers: { 'x-api-key': 'alice-secret' } });
    expect(r.status).toBe(200);
    expect(r.json<SeenRequest>().headers['x-api-key']).toBeUndefined();
  });

  it('ignores the query string when key_in_query is false', async () => {
    gw.apply(base({ key_in_query: false }));
    expect((await call(gw.port, '/x?apikey=alice-secret')).status).toBe(401);
  });

  it('reads the key from a form body when key_in_body is set, and can hide it', async () => {
    gw.apply(base({ key_in_body: true, hide_credentials: true }));
    const r = await call(gw.port, '/x', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'apikey=alice-secret&a=1',
    });
    expect(r.status).toBe(200);
    expect(r.json<SeenRequest>().bodyLength).toBe(3);
  });

  it('returns 401 "Duplicate API key found" for two keys', async () => {
    gw.apply(base());
    const r = await call(gw.port, '/x?apikey=a&apikey=b');
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body.toString())).toEqual({ message: 'Duplicate API key found' });
  });

  it('lets preflight requests through when run_on_preflight is false', async () => {
    gw.apply(base({ run_on_preflight: false }));
    expect((await call(gw.port, '/x', { method: 'OPTIONS' })).status).toBe(200);
  });

  it('falls back to the anonymous consumer (by username) on failure', async () => {
    gw.apply(base({ anonymous: 'anon' }));
    const r = await call(gw.port, '/x', { headers: { 'x-credential-identifier': 'spoof' } });
    expect(r.status).toBe(200);
    const seen = r.json<SeenRequest>();
    expect(seen.headers['x-consumer-id']).toBe('anon');
    expect(seen.headers['x-anonymous-consumer']).toBe('true');
    expect(seen.headers['x-credential-identifier']).toBeUndefined();
  });

  // spec/03-plugins/09-key-auth/02-access_spec.lua "errors when anonymous user doesn't exist".
  it("answers Kong's 500 naming the anonymous consumer that does not exist", async () => {
    gw.apply(base({ anonymous: 'ghost' }));
    const r = await call(gw.port, '/x');
    expect(r.status).toBe(500);
    expect(JSON.parse(r.body.toString())).toEqual({
      message: "anonymous consumer ghost is configured but doesn't exist",
    });
  });

  // spec/03-plugins/09-key-auth/02-access_spec.lua "underscores or hyphens in key headers":
  // nginx finds `api_key` as `api-key` too (the `_` header itself needs --underscores-in-headers).
  it('finds a key name with _ in the - form of the header, and hides that header', async () => {
    gw.apply(base({ key_names: ['api_key'], hide_credentials: true }));
    const ok = await call(gw.port, '/x', { headers: { 'api-key': 'alice-secret' } });
    expect(ok.status).toBe(200);
    expect(ok.json<SeenRequest>().headers['api-key']).toBeUndefined();
    const bad = await call(gw.port, '/x', { headers: { 'api-key': '123' } });
    expect(bad.status).toBe(401);
    expect(JSON.parse(bad.body.toString())).toEqual({ message: 'Unauthorized' });
    expect(bad.headers['www-authenticate']).toBe('Key');
  });

  // docs/security.md: header names with `_` are dropped before routing and plugins by default.
  // Plugins once read node's raw headers and found a key the policy had dropped.
  it('does not find a key in a header with _ while the request policy drops such names', async () => {
    gw.apply(base({ key_names: ['api_key'] }));
    const res = await call(gw.port, '/x', { headers: { api_key: 'alice-secret' } });
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body.toString())).toEqual({ message: 'No API key found in request' });
  });

  it('does not read a key name with - from a header with _ (as nginx)', async () => {
    const lenient = await startGateway({ requestPolicy: { underscoresInHeaders: true } });
    try {
      lenient.apply(base({ key_names: ['api-key'] }));
      expect((await call(lenient.port, '/x', { headers: { api_key: 'alice-secret' } })).status).toBe(401);
      lenient.apply(base({ key_names: ['api_key'] }));
      for (const name of ['api_key', 'api-key']) {
        expect((await call(lenient.port, '/x', { headers: { [name]: 'alice-secret' } })).status, name).toBe(
          200,
        );
      }
    } finally {
      await lenient.close();
    }
  });

  it('leaves routes without plugins alone', async () => {
    gw.apply({
      ...base(),
      plugins: [plugin('key-auth', {}, { route: { id: 'other' } })],
    });
    expect((await call(gw.port, '/x')).status).toBe(200);
  });

  it('does not run a disabled plugin', async () => {
    gw.apply({ ...base(), plugins: [plugin('key-auth', {}, { route: { id: 'r' }, enabled: false })] });
    expect((await call(gw.port, '/x')).status).toBe(200);
  });

  it('sends the body it read to a service balanced over an upstream', async () => {
    gw.apply({
      ...base({ key_in_body: true, hide_credentials: true }),
      upstreams: [
        { ...validateUpstream({ name: 'pool.internal' }), id: 'u', created_at: now, updated_at: now },
      ],
      targets: [
        {
          id: 't',
          upstream: { id: 'u' },
          target: `127.0.0.1:${gw.upstream.port}`,
          weight: 100,
          tags: null,
          created_at: now,
          updated_at: now,
        },
      ],
      services: [service('svc', 80, { host: 'pool.internal' })],
      routes: [route('r', 'svc', { paths: ['/'] })],
    });
    const r = await call(gw.port, '/x', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apikey: 'alice-secret', a: 1 }),
    });
    expect(r.status).toBe(200);
    const seen = r.json<SeenRequest>();
    expect(seen.headers['x-consumer-id']).toBe('alice');
    expect(seen.bodyLength).toBe(JSON.stringify({ a: 1 }).length);
  });

  it('refuses an Expect: 100-continue upload without a key with 401 before asking for the body', async () => {
    gw.apply(base());
    const { data, closedByServer } = await rawRequest(
      gw.port,
      'POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n',
      () => {},
    );
    expect(data.startsWith('HTTP/1.1 401 ')).toBe(true);
    expect(JSON.parse(parseRaw(data).body)).toEqual({ message: 'No API key found in request' });
    expect(closedByServer).toBe(true);
  });

  it('asks for the body of an Expect: 100-continue upload only once the key is accepted', async () => {
    gw.apply(base());
    const { data } = await rawRequest(
      gw.port,
      'POST /x HTTP/1.1\r\nHost: a\r\napikey: alice-secret\r\nContent-Length: 3\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n',
      (socket) => {
        socket.once('data', (c: Buffer) => {
          if (c.toString('latin1').startsWith('HTTP/1.1 100 ')) socket.write('abc');
        });
      },
    );
    expect(data.startsWith('HTTP/1.1 100 Continue\r\n\r\n')).toBe(true);
    const r = parseRaw(data);
    expect(r.status).toBe(200);
    expect((JSON.parse(r.body) as SeenRequest).bodyLength).toBe(3);
  });
});

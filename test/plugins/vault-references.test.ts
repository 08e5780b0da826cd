/**
 * Vault references through a real ProxyServer (docs/vaults.md): a key-auth key and plugin fields
 * holding `{vault://…}` are served with the value the DP reads; an unresolvable reference fails
 * the credential or the plugin (never an empty secret) and names the reference, not a value.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeConfig, withCredentialDigests } from '@gatehouse/shared';
import { envBackend } from '../../data-plane/src/vaults/env.js';
import { VaultResolver } from '../../data-plane/src/vaults/resolver.js';
import {
  call,
  consumer,
  plugin,
  route,
  service,
  startGateway,
  startUpstream,
  type Gateway,
  type Upstream,
} from './auth/helpers.js';

const now = Math.floor(Date.now() / 1000);
const cred = (id: string, key: string) => ({
  id,
  consumer: { id: 'alice' },
  key,
  ttl: null,
  tags: null,
  created_at: now,
});

describe('vault references on the data plane (real ProxyServer)', () => {
  let gw: Gateway;
  let logSink: Upstream;
  const logged: http.IncomingHttpHeaders[] = [];
  const env: NodeJS.ProcessEnv = { PARTNER_KEY: 'partner-secret-1', LOG_TOKEN: 'Bearer log-token' };
  beforeAll(async () => {
    gw = await startGateway({ vaults: new VaultResolver({ backends: [envBackend(env)] }) });
    logSink = await startUpstream((req, res) => {
      logged.push(req.headers);
      req.resume();
      req.on('end', () => res.end('ok'));
    });
  });
  afterAll(async () => {
    await gw.close();
    await logSink.close();
  });

  it('a key-auth key given as {vault://env/...} authenticates with the value of the env var, not the reference', async () => {
    // What a DP receives: the reference stays (the CP digests only clear keys).
    const snapshot = withCredentialDigests(
      completeConfig({
        services: [service('svc', gw.upstream.port)],
        routes: [route('r', 'svc', { paths: ['/'] })],
        consumers: [consumer('alice')],
        keyauth_credentials: [cred('k1', '{vault://env/partner-key}'), cred('k2', 'clear-key')],
        plugins: [plugin('key-auth', {}, { route: { id: 'r' } })],
      }),
    );
    expect(snapshot.keyauth_credentials[0]!.key).toBe('{vault://env/partner-key}');
    expect(snapshot.keyauth_credentials[1]!.key).not.toBe('clear-key');
    await gw.applyResolved(snapshot);
    expect((await call(gw.port, '/', { headers: { apikey: 'partner-secret-1' } })).status).toBe(200);
    expect((await call(gw.port, '/', { headers: { apikey: 'clear-key' } })).status).toBe(200);
    expect((await call(gw.port, '/', { headers: { apikey: '{vault://env/partner-key}' } })).status).toBe(401);
  });

  it('a key-auth key whose secret is missing authenticates no one, and the log names the reference', async () => {
    await gw.applyResolved({
      consumers: [consumer('alice')],
      keyauth_credentials: [cred('k1', '{vault://env/no-such-key}'), cred('k2', 'clear-key')],
      plugins: [plugin('key-auth', {}, { route: { id: 'r' } })],
    });
    expect((await call(gw.port, '/', { headers: { apikey: '' } })).status).toBe(401);
    expect((await call(gw.port, '/', { headers: { apikey: '{vault://env/no-such-key}' } })).status).toBe(401);
    expect((await call(gw.port, '/', { headers: { apikey: 'clear-key' } })).status).toBe(200);
    expect(gw.logs.text).toContain(
      'vault reference {vault://env/no-such-key} cannot be resolved: no value found',
    );
  });

  it('a plugin header given as a reference is sent with the value (http-log headers)', async () => {
    logged.length = 0;
    await gw.applyResolved({
      plugins: [
        plugin('http-log', {
          http_endpoint: `http://127.0.0.1:${logSink.port}/log`,
          headers: { authorization: '{vault://env/log-token}' },
          queue: { max_batch_size: 1, max_coalescing_delay: 0 },
        }),
      ],
    });
    expect((await call(gw.port, '/')).status).toBe(200);
    for (let i = 0; i < 100 && logged.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(logged[0]?.authorization).toBe('Bearer log-token');
  });

  it('a plugin whose secret is missing fails with a 500 on its route, while other routes keep serving', async () => {
    await gw.applyResolved({
      services: [service('svc', gw.upstream.port)],
      routes: [route('r', 'svc', { paths: ['/limited'] }), route('r2', 'svc', { paths: ['/open'] })],
      plugins: [
        plugin(
          'rate-limiting',
          {
            minute: 10,
            policy: 'redis',
            redis: { host: '127.0.0.1', password: '{vault://env/redis-password}' },
          },
          { route: { id: 'r' } },
        ),
      ],
    });
    const failed = await call(gw.port, '/limited');
    expect(failed.status).toBe(500);
    expect(JSON.parse(failed.body.toString())).toEqual({ message: 'An unexpected error occurred' });
    expect((await call(gw.port, '/open')).status).toBe(200);
    expect(gw.logs.text).toContain(
      'vault reference {vault://env/redis-password} cannot be resolved: no value found',
    );
    expect(gw.logs.text).toContain('GH_ERR_PLUGIN_HANDLER_FAILED');
  });

  it('never logs a resolved value', () => {
    expect(gw.logs.text).not.toContain('partner-secret-1');
    expect(gw.logs.text).not.toContain('log-token');
  });
});

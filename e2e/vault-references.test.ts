/**
 * Vault references through a real control plane and data plane (docs/vaults.md): the CP stores
 * and ships `{vault://…}` references, the DP reads them — `env` from its own environment, `file`
 * from its GATEHOUSE_VAULT_FILE_ROOT folder — and picks up a secret rotated on disk once the
 * vault's ttl has passed, without a restart. A missing secret fails its plugin with a 500 and
 * names the reference in the DP's log, while the other routes keep serving.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminJson,
  startCp,
  startDp,
  startUpstream,
  tempDir,
  waitUntil,
  type CpHandle,
  type DpHandle,
} from './helpers/processes.js';
import { cacheTexts } from './helpers/cache-texts.js';

const ENV_KEY = 'env-partner-key-5f1c';
const FILE_KEY_1 = 'file-partner-key-one-7a2b';
const FILE_KEY_2 = 'file-partner-key-two-9c3d';

async function get(dp: DpHandle, path: string, apikey?: string): Promise<{ status: number; body: string }> {
  const r = await fetch(`${dp.proxy}${path}`, {
    headers: apikey === undefined ? {} : { apikey },
    signal: AbortSignal.timeout(5000),
  });
  return { status: r.status, body: await r.text() };
}

describe('vault references through a real CP and DP', () => {
  let cp: CpHandle;
  let dp: DpHandle;
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let secrets: string;

  beforeAll(async () => {
    const dir = tempDir('vaults');
    secrets = join(dir, 'secrets');
    mkdirSync(secrets);
    writeFileSync(join(secrets, 'partner-token'), `${FILE_KEY_1}\n`);
    upstream = await startUpstream();
    cp = await startCp({ dataDir: join(dir, 'cp') });
    const a = (method: string, path: string, body?: unknown) => adminJson(cp.admin, method, path, body);
    expect((await a('POST', '/vaults', { prefix: 'disk', name: 'file', config: { ttl: 1 } })).status).toBe(
      201,
    );
    expect((await a('POST', '/services', { name: 'echo', url: upstream.url })).status).toBe(201);
    for (const [name, path] of [
      ['env', '/env'],
      ['file', '/file'],
      ['missing', '/missing'],
      ['open', '/open'],
    ])
      expect((await a('POST', '/services/echo/routes', { name, paths: [path] })).status).toBe(201);
    for (const r of ['env', 'file'])
      expect((await a('POST', `/routes/${r}/plugins`, { name: 'key-auth' })).status).toBe(201);
    const limited = await a('POST', '/routes/missing/plugins', {
      name: 'rate-limiting',
      config: {
        minute: 100,
        policy: 'redis',
        redis: { host: '127.0.0.1', password: '{vault://env/e2e-missing-secret}' },
      },
    });
    expect(limited.status).toBe(201);
    expect((await a('POST', '/consumers', { username: 'partner' })).status).toBe(201);
    for (const key of ['{vault://env/e2e-partner-key}', '{vault://disk/partner-token}'])
      expect((await a('POST', '/consumers/partner/key-auth', { key })).status).toBe(201);
    dp = await startDp({
      cluster: `127.0.0.1:${cp.clusterPort}`,
      publicKeys: cp.publicKeys,
      dataDir: join(dir, 'dp'),
      workers: 2,
      env: { GATEHOUSE_VAULT_FILE_ROOT: secrets, E2E_PARTNER_KEY: ENV_KEY },
    });
    await waitUntil('the DP serves the configuration', async () => (await get(dp, '/open')).status === 200);
  }, 120_000);

  afterAll(async () => {
    await dp?.proc.stop();
    await cp?.proc.stop();
    await upstream?.close();
  });

  it('a key-auth key held in the DP environment ({vault://env/...}) authenticates; the reference itself does not', async () => {
    await waitUntil('env key accepted', async () => (await get(dp, '/env', ENV_KEY)).status === 200);
    expect((await get(dp, '/env', '{vault://env/e2e-partner-key}')).status).toBe(401);
    expect((await get(dp, '/env', 'wrong')).status).toBe(401);
  });

  it('a file vault secret rotated on disk is picked up after the ttl, without a restart', async () => {
    await waitUntil('file key accepted', async () => (await get(dp, '/file', FILE_KEY_1)).status === 200);
    const pid = dp.proc.child.pid;
    writeFileSync(join(secrets, 'partner-token.tmp'), FILE_KEY_2);
    renameSync(join(secrets, 'partner-token.tmp'), join(secrets, 'partner-token'));
    // Both workers must have re-read it: a run of answers, not one.
    await waitUntil(
      'rotated key accepted by every worker',
      async () => {
        for (let i = 0; i < 6; i++) if ((await get(dp, '/file', FILE_KEY_2)).status !== 200) return false;
        return true;
      },
      20_000,
    );
    expect((await get(dp, '/file', FILE_KEY_1)).status).toBe(401);
    expect(dp.proc.alive).toBe(true);
    expect(dp.proc.child.pid).toBe(pid);
  });

  it('a missing secret fails its plugin with a 500 naming the reference in the log, and other routes keep serving', async () => {
    const failed = await get(dp, '/missing');
    expect(failed.status).toBe(500);
    expect(JSON.parse(failed.body)).toEqual({ message: 'An unexpected error occurred' });
    expect((await get(dp, '/open')).status).toBe(200);
    expect((await get(dp, '/env', ENV_KEY)).status).toBe(200);
    await waitUntil('the log names the reference', async () =>
      dp.proc.output.includes(
        'vault reference {vault://env/e2e-missing-secret} cannot be resolved: no value found',
      ),
    );
  });

  it('the CP stores and ships only the references; no resolved value leaves the DP', async () => {
    const creds = await adminJson(cp.admin, 'GET', '/consumers/partner/key-auth');
    expect(creds.json.data.map((c: { key: string }) => c.key).sort()).toEqual([
      '{vault://disk/partner-token}',
      '{vault://env/e2e-partner-key}',
    ]);
    const shipped = cacheTexts(dp.dataDir).inflated.toString('utf8');
    expect(shipped).toContain('{vault://env/e2e-partner-key}');
    expect(shipped).toContain('{vault://disk/partner-token}');
    expect(shipped).toContain('{vault://env/e2e-missing-secret}');
    const exported = JSON.stringify((await adminJson(cp.admin, 'GET', '/config')).json);
    for (const text of [shipped, exported, cp.proc.output, dp.proc.output])
      for (const value of [ENV_KEY, FILE_KEY_1, FILE_KEY_2]) expect(text).not.toContain(value);
  });
});

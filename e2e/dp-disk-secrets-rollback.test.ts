/**
 * Issue 8 items 7–9 with real processes (`gatehouse cp --dev`, `gatehouse dp`):
 *  - what a DP keeps on disk: no clear key-auth key or basic-auth password in the cache (raw or
 *    decompressed); with GATEHOUSE_CACHE_KEY nothing of the snapshot is readable without the key,
 *    and a DP given no key or another key refuses the cache and says why in /status;
 *  - rollback at boot: a DP that served v2 and is restarted with the v1 signed cache put back does
 *    not serve v1 (/status says why) unless started with --allow-version-rollback;
 *  - /status says why a DP does not serve what the CP has (snapshot refusal, CP refusal).
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheTexts } from './helpers/cache-texts.js';
import {
  adminJson,
  freePort,
  httpStatus,
  Proc,
  ROOT,
  startCp,
  startDp,
  startUpstream,
  tempDir,
  waitUntil,
  type CpHandle,
  type DpHandle,
} from './helpers/processes.js';

const KEY = 'alice-secret-key';
const PASSWORD = 'alice-basic-password';
const HMAC_SECRET = 'alice-hmac-secret-value';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the /status JSON
async function status(dp: { status: string }): Promise<any> {
  const r = await fetch(`${dp.status}/status`, { signal: AbortSignal.timeout(5000) });
  return r.json();
}

/** The proxy's answer, or 'no answer' when the port refuses or drops the connection. */
async function proxyAnswer(url: string, headers: Record<string, string> = {}): Promise<number | 'no answer'> {
  try {
    return await httpStatus(url, { headers });
  } catch {
    return 'no answer';
  }
}

describe('secrets on DP disks, rollback at boot, /status refusal reasons', () => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let cp: CpHandle;
  const cpDir = tempDir('cp-secrets');
  let cluster: string;
  const running: Proc[] = [];
  const dp = async (
    opts: Partial<Parameters<typeof startDp>[0]> & { dataDir: string },
  ): Promise<DpHandle> => {
    const h = await startDp({ cluster, publicKeys: cp.publicKeys, tls: cp.dpTlsArgs, workers: 1, ...opts });
    running.push(h.proc);
    return h;
  };

  beforeAll(async () => {
    upstream = await startUpstream();
    cp = await startCp({ dataDir: cpDir });
    cluster = `127.0.0.1:${cp.clusterPort}`;
    const calls: [string, string, unknown][] = [
      ['POST', '/services', { name: 'echo', url: upstream.url }],
      ['POST', '/services/echo/routes', { name: 'key', paths: ['/key'] }],
      ['POST', '/services/echo/routes', { name: 'basic', paths: ['/basic'] }],
      ['POST', '/routes/key/plugins', { name: 'key-auth' }],
      ['POST', '/routes/basic/plugins', { name: 'basic-auth' }],
      ['POST', '/consumers', { username: 'alice' }],
      ['POST', '/consumers/alice/key-auth', { key: KEY }],
      ['POST', '/consumers/alice/basic-auth', { username: 'alice', password: PASSWORD }],
      ['POST', '/consumers/alice/hmac-auth', { username: 'alice-hmac', secret: HMAC_SECRET }],
    ];
    for (const [method, path, body] of calls) {
      const r = await adminJson(cp.admin, method, path, body);
      expect(r.status, `${method} ${path}: ${JSON.stringify(r.json)}`).toBe(201);
    }
  });

  afterAll(async () => {
    await Promise.all(running.map((p) => p.stop()));
    await cp?.proc.stop();
    await upstream?.close();
  });

  it('keeps no clear key-auth key or basic-auth password on the DP disk; key-auth still authenticates', async () => {
    const d = await dp({ dataDir: tempDir('dp-plain') });
    await waitUntil(
      'key-auth served',
      async () => (await proxyAnswer(`${d.proxy}/key`, { apikey: KEY })) === 200,
    );
    expect(await proxyAnswer(`${d.proxy}/key`, { apikey: `${KEY}x` })).toBe(401);
    expect(await proxyAnswer(`${d.proxy}/key`)).toBe(401);
    const basic = `Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}`;
    expect(await proxyAnswer(`${d.proxy}/basic`, { authorization: basic })).toBe(200);

    // The Admin API still shows the key as Kong does.
    const creds = await adminJson(cp.admin, 'GET', '/consumers/alice/key-auth');
    expect(creds.json.data[0].key).toBe(KEY);

    const { raw, inflated } = cacheTexts(d.dataDir);
    expect(inflated.includes(Buffer.from('"keyauth_credentials"'))).toBe(true); // really the config
    for (const bytes of [raw, inflated]) {
      expect(bytes.includes(Buffer.from(KEY))).toBe(false);
      expect(bytes.includes(Buffer.from(PASSWORD))).toBe(false);
    }
    expect(inflated.toString()).toMatch(/"password":"\$scrypt\$/);
    expect(inflated.toString()).toContain('"_credential_digests":{"key_auth":{"algorithm":"hmac-sha256"');
    // Without a cache key, secrets the DP must hold (hmac-auth) are on disk: that is what the key is for.
    expect(inflated.includes(Buffer.from(HMAC_SECRET))).toBe(true);
    const s = await status(d);
    expect(s.cache).toMatchObject({ encrypted: false, last_refusal: null });
  });

  it('encrypts the cache with GATEHOUSE_CACHE_KEY; no key or another key → refused, with the reason in /status', async () => {
    const dataDir = tempDir('dp-sealed');
    const cacheKey = randomBytes(32).toString('base64');
    const d = await dp({ dataDir, env: { GATEHOUSE_CACHE_KEY: cacheKey } });
    await waitUntil(
      'key-auth served',
      async () => (await proxyAnswer(`${d.proxy}/key`, { apikey: KEY })) === 200,
    );
    const { raw, inflated } = cacheTexts(dataDir);
    expect(raw.subarray(0, 8).toString()).toBe('GHCACHE1');
    expect(inflated.length).toBe(0);
    for (const secret of [KEY, PASSWORD, HMAC_SECRET, 'keyauth_credentials']) {
      expect(raw.includes(Buffer.from(secret))).toBe(false);
    }
    expect((await status(d)).cache).toMatchObject({ encrypted: true });
    await d.proc.stop();

    // Restarted with the CP unreachable, so only the cache could give it a config.
    const nowhere = `127.0.0.1:${await freePort()}`;
    for (const [env, why] of [
      [{}, /encrypted and no cache key is set/],
      [{ GATEHOUSE_CACHE_KEY: randomBytes(32).toString('hex') }, /does not decrypt with the cache key given/],
    ] as const) {
      const again = await dp({ dataDir, cluster: nowhere, waitReady: false, env });
      await waitUntil(
        'cache refusal in /status',
        async () => (await status(again)).cache?.last_refusal !== null,
      );
      const s = await status(again);
      expect(s.ready).toBe(false);
      expect(s.cache.last_refusal).toMatchObject({ code: 'GH_ERR_DP_CACHE_KEY' });
      expect(s.cache.last_refusal.reason).toMatch(why);
      expect(again.proc.alive).toBe(true);
      await again.proc.stop();
    }
    const right = await dp({ dataDir, cluster: nowhere, env: { GATEHOUSE_CACHE_KEY: cacheKey } });
    expect(await proxyAnswer(`${right.proxy}/key`, { apikey: KEY })).toBe(200);
    expect((await status(right)).config.source).toBe('cache');
    await right.proc.stop();
  });

  it('refuses a bad GATEHOUSE_CACHE_KEY at start, naming the setting', async () => {
    const proc = new Proc(
      'dp-badkey',
      spawn(
        join(ROOT, 'gatehouse'),
        ['dp', '--trusted-keys', cp.publicKeys, ...cp.dpTlsArgs, '--data-dir', tempDir('dp-badkey')],
        {
          env: { ...process.env, GATEHOUSE_CACHE_KEY: 'not-a-key' },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      ),
    );
    expect(await proc.exited).toBe(2);
    expect(proc.output).toMatch(/invalid setting --cache-key \(GATEHOUSE_CACHE_KEY\): must be 32 bytes/);
    expect(proc.output).not.toContain('not-a-key');
  });

  it('does not serve an older signed cache put back after a newer version was served; the override does', async () => {
    const dataDir = tempDir('dp-rollback');
    const d = await dp({ dataDir });
    await waitUntil(
      'key route served',
      async () => (await proxyAnswer(`${d.proxy}/key`, { apikey: KEY })) === 200,
    );
    const v1 = (await status(d)).config.version as string;
    const recorded = (v: string) => async () =>
      JSON.parse(readFileSync(join(dataDir, 'highest-version'), 'utf8')).version === v;
    await waitUntil('v1 cached and recorded', recorded(v1)); // both follow the swap /status reports
    copyFileSync(join(dataDir, 'snapshot.pb'), join(dataDir, 'v1.pb'));

    const r = await adminJson(cp.admin, 'POST', '/services/echo/routes', { name: 'v2-only', paths: ['/v2'] });
    expect(r.status).toBe(201);
    await waitUntil('v2 served', async () => (await proxyAnswer(`${d.proxy}/v2`)) === 200);
    const v2 = (await status(d)).config.version as string;
    expect(BigInt(v2)).toBeGreaterThan(BigInt(v1));
    await waitUntil('v2 recorded as the highest version', recorded(v2));
    await d.proc.stop();

    copyFileSync(join(dataDir, 'v1.pb'), join(dataDir, 'snapshot.pb'));
    const nowhere = `127.0.0.1:${await freePort()}`;
    const again = await dp({ dataDir, cluster: nowhere, waitReady: false });
    await waitUntil(
      'cache refusal in /status',
      async () => (await status(again)).cache?.last_refusal !== null,
    );
    const s = await status(again);
    expect(s).toMatchObject({ ready: false, config: null });
    expect(s.cache).toMatchObject({
      highest_version: v2,
      allow_version_rollback: false,
      last_refusal: { code: 'GH_ERR_DP_VERSION_ROLLBACK', version: v1 },
    });
    expect(s.cache.last_refusal.reason).toMatch(
      new RegExp(`${v1} is older than the highest version this data plane has accepted \\(${v2}\\)`),
    );
    expect(s.cache.last_refusal.kid).toEqual(expect.any(String));
    // Not serving v1: the no-config answer (no 2xx, no 401 from v1's key-auth).
    const answer = await proxyAnswer(`${again.proxy}/key`, { apikey: KEY });
    expect(answer === 'no answer' || answer === 503).toBe(true);
    await again.proc.stop();

    const forced = await dp({ dataDir, cluster: nowhere, args: ['--allow-version-rollback'] });
    expect((await status(forced)).config).toMatchObject({ version: v1, source: 'cache' });
    expect(await proxyAnswer(`${forced.proxy}/key`, { apikey: KEY })).toBe(200);
    expect(await proxyAnswer(`${forced.proxy}/v2`)).toBe(404);
    await forced.proc.stop();
  });

  it('shows a snapshot refusal (code, kid, version, time) in /status', async () => {
    // A DP that trusts another key pair: every snapshot from this CP is refused.
    const otherCp = tempDir('other-keys');
    const gen = new Proc(
      'keys',
      spawn(join(ROOT, 'gatehouse'), ['keys', 'generate', '--dir', otherCp], {
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    expect(await gen.exited, gen.output).toBe(0);
    const d = await dp({
      dataDir: tempDir('dp-untrusting'),
      publicKeys: join(otherCp, 'snapshot-signing.jwks.json'),
      waitReady: false,
    });
    await waitUntil('snapshot refusal in /status', async () => (await status(d)).sync.last_refusal !== null);
    const s = await status(d);
    const cpKid = JSON.parse(readFileSync(cp.publicKeys, 'utf8')).keys[0].kid;
    expect(s.sync.last_refusal).toMatchObject({
      code: 'GH_ERR_SNAPSHOT_UNKNOWN_KEY',
      kid: cpKid,
      version: expect.stringMatching(/^\d+$/),
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(s.ready).toBe(false);
  });

  it('shows the CP refusing this DP (its Hello) in /status, with the time', async () => {
    const statusPort = await freePort();
    const opts = {
      controlPlane: cluster,
      clusterTls: cp.dpTls,
      trustedKeyFiles: [cp.publicKeys],
      dataDir: tempDir('dp-refused'),
      workers: 1,
      proxyPort: await freePort(),
      statusPort,
      softwareVersion: '99.0.0',
      sync: { refusalDelayMs: 60_000 },
    };
    const proc = new Proc(
      'dp-refused',
      spawn(process.execPath, [join(ROOT, 'e2e/helpers/dp-launcher.mjs'), JSON.stringify(opts)], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    running.push(proc);
    const d = { status: `http://127.0.0.1:${statusPort}` };
    await waitUntil('CP refusal in /status', async () => {
      if (!proc.alive) throw new Error(proc.output);
      return (await status(d)).sync.refusal !== null;
    });
    const s = await status(d);
    expect(s.sync.refusal).toMatchObject({
      syncStatus: 'kong_version_incompatible',
      reason: expect.stringMatching(/major version 99/),
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(s.ready).toBe(false);
  });
});

/**
 * A DB-less data plane (in-process primary + worker processes forked from the built package)
 * serving a real declarative file (Kong 3.0 YAML) with no control plane: boot, reload with a
 * changed file, reload with broken files (old config kept, error in /status), and the settings
 * it refuses.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDataPlane, type DataPlane, type DataPlaneStatus } from '@gatehouse/data-plane';
import { createLogger, isGatehouseError } from '@gatehouse/shared';
import { freePort, httpGet, httpGetMany, startUpstream } from '../dp/helpers/fixtures.js';

const logger = createLogger('dbless-test', { level: process.env.GATEHOUSE_TEST_LOG_LEVEL ?? 'silent' });

let upstream: { server: Server; port: number };
let dir: string;

beforeAll(async () => {
  upstream = await startUpstream('echo');
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-dbless-'));
});
afterAll(async () => {
  await new Promise((r) => upstream.server.close(r));
  await rm(dir, { recursive: true, force: true });
});

const kongFile = (paths: string[]) => `_format_version: "3.0"
services:
  - name: echo
    url: http://127.0.0.1:${upstream.port}
    routes:
${paths.map((p) => `      - name: r${p.replaceAll('/', '-')}\n        paths: ["${p}"]\n        strip_path: false`).join('\n')}
`;

const startDbless = async (file: string, dataDir: string, extra: { workers?: number } = {}) =>
  startDataPlane({
    declarativeFile: file,
    dataDir,
    workers: extra.workers ?? 2,
    proxyListen: { host: '127.0.0.1', port: await freePort() },
    statusListen: { host: '127.0.0.1', port: 0 },
    logger,
    drainTimeoutMs: 1_000,
  });

describe('DB-less data plane', () => {
  let dp: DataPlane;
  let file: string;
  let dataDir: string;
  const status = async () =>
    (await (await fetch(`http://127.0.0.1:${dp.statusAddress.port}/status`)).json()) as DataPlaneStatus;
  const port = () => dp.proxyPort()!;

  beforeAll(async () => {
    file = join(dir, 'kong.yaml');
    dataDir = join(dir, 'data');
    await writeFile(file, kongFile(['/a']));
    dp = await startDbless(file, dataDir);
  });
  afterAll(async () => {
    await dp?.stop();
  });

  it('serves the file on every worker, is ready, and shows source "declarative" and the file in /status', async () => {
    expect(dp.ready()).toBe(true);
    expect((await fetch(`http://127.0.0.1:${dp.statusAddress.port}/status/ready`)).status).toBe(200);
    const answers = await httpGetMany(port(), '/a/x', 6);
    expect(answers.map((a) => a.status)).toEqual(Array(6).fill(200));
    expect(JSON.parse(answers[0]!.body)).toEqual({ upstream: 'echo', path: '/a/x' });
    const s = await status();
    expect(s).toMatchObject({
      ready: true,
      config: { version: '1', source: 'declarative' },
      declarative: { file, reloads: 0, last_reload_error: null },
      sync: { state: 'disabled', controlPlane: null },
      workers: { configured: 2, serving: 2 },
    });
    expect(s.config!.hash).toMatch(/^[0-9a-f]{64}$/);
    const metrics = await (await fetch(`http://127.0.0.1:${dp.statusAddress.port}/metrics`)).text();
    expect(metrics).toMatch(/^gatehouse_dp_snapshot_applies_total\{source="declarative"\} 1$/m);
  });

  it('swaps in a changed file on reload: the new route is served on every worker, the removed one is gone', async () => {
    await writeFile(file, kongFile(['/b']));
    const outcome = await dp.reload();
    expect(outcome).toMatchObject({ ok: true, changed: true, version: '2' });
    const answers = await httpGetMany(port(), '/b', 6);
    expect(answers.map((a) => a.status)).toEqual(Array(6).fill(200));
    expect((await httpGet(port(), '/a')).status).toBe(404);
    expect(await status()).toMatchObject({
      config: { version: '2', source: 'declarative' },
      declarative: { reloads: 1, last_reload_error: null },
    });
  });

  it('answers a reload of an unchanged file with changed: false and keeps the version', async () => {
    const before = await status();
    expect(await dp.reload()).toMatchObject({ ok: true, changed: false, version: '2' });
    const after = await status();
    expect(after.config).toEqual(before.config);
    expect(after.declarative!.reloads).toBe(1);
  });

  it('refuses a file that is not YAML, keeps serving the old config and reports the error in /status', async () => {
    await writeFile(file, '_format_version: "3.0"\nservices: [\n  - name: broken\n');
    const outcome = await dp.reload();
    expect(outcome).toMatchObject({ ok: false, code: 'GH_ERR_DECLARATIVE_SYNTAX' });
    expect(!outcome.ok && outcome.message).toContain(file);
    for (const a of await httpGetMany(port(), '/b', 4)) expect(a.status).toBe(200);
    const s = await status();
    expect(s.config).toMatchObject({ version: '2' });
    expect(s.declarative!.last_reload_error).toMatchObject({ code: 'GH_ERR_DECLARATIVE_SYNTAX' });
    expect(s.declarative!.last_reload_error!.message).toContain(file);
    expect(s.ready).toBe(true);
  });

  it('refuses a file with a dangling reference, naming the path of the problem, and keeps serving', async () => {
    await writeFile(
      file,
      `_format_version: "3.0"\nroutes:\n  - name: orphan\n    paths: ["/orphan"]\n    service: nowhere\n`,
    );
    const outcome = await dp.reload();
    expect(outcome).toMatchObject({ ok: false, code: 'GH_ERR_DECLARATIVE_INVALID' });
    expect(!outcome.ok && outcome.message).toMatch(/routes\[0\]\.service/);
    expect((await httpGet(port(), '/b')).status).toBe(200);
    expect((await httpGet(port(), '/orphan')).status).toBe(404);
    expect((await status()).declarative!.last_reload_error).toMatchObject({
      code: 'GH_ERR_DECLARATIVE_INVALID',
    });
  });

  it('refuses a missing file and keeps serving; the next good reload clears the error', async () => {
    await rm(file);
    expect(await dp.reload()).toMatchObject({ ok: false, code: 'GH_ERR_DECLARATIVE_UNREADABLE' });
    expect((await httpGet(port(), '/b')).status).toBe(200);
    await writeFile(file, kongFile(['/b', '/c']));
    expect(await dp.reload()).toMatchObject({ ok: true, changed: true, version: '3' });
    expect((await httpGet(port(), '/c')).status).toBe(200);
    const s = await status();
    expect(s.declarative).toMatchObject({ reloads: 2, last_reload_error: null });
    const metrics = await (await fetch(`http://127.0.0.1:${dp.statusAddress.port}/metrics`)).text();
    expect(metrics).toMatch(/^gatehouse_dp_declarative_reloads_total\{result="applied"\} 2$/m);
    expect(metrics).toMatch(/^gatehouse_dp_declarative_reloads_total\{result="refused"\} 3$/m);
    expect(metrics).toMatch(/^gatehouse_dp_declarative_reloads_total\{result="unchanged"\} 1$/m);
  });

  it('applies concurrent reloads one at a time; the last file wins', async () => {
    await writeFile(file, kongFile(['/d']));
    const [r1, r2] = await Promise.all([dp.reload(), dp.reload()]);
    expect(r1).toMatchObject({ ok: true, changed: true, version: '4' });
    expect(r2).toMatchObject({ ok: true, changed: false, version: '4' });
    expect((await httpGet(port(), '/d')).status).toBe(200);
  });

  it('writes no snapshot cache in DB-less mode (the file is the source)', async () => {
    expect((await readdir(dataDir)).sort()).toEqual(['node-id']);
  });
});

describe('DB-less data plane settings', () => {
  it('does not start from a broken file: it fails with the declarative error and leaves nothing running', async () => {
    const file = join(dir, 'broken.yaml');
    await writeFile(file, '_format_version: "1.1"\nservices: []\n');
    const statusPort = await freePort();
    const err = await startDataPlane({
      declarativeFile: file,
      dataDir: join(dir, 'broken-data'),
      workers: 1,
      proxyListen: { host: '127.0.0.1', port: await freePort() },
      statusListen: { host: '127.0.0.1', port: statusPort },
      logger,
    }).catch((e: unknown) => e);
    expect(isGatehouseError(err)).toBe(true);
    expect((err as Error).message).toContain(file);
    expect((err as { code: string }).code).toMatch(/^GH_ERR_DECLARATIVE_/);
    await expect(fetch(`http://127.0.0.1:${statusPort}/status`)).rejects.toThrow();
  });

  it('refuses a control plane and a declarative file together', async () => {
    const err = await startDataPlane({
      controlPlane: '127.0.0.1:8005',
      declarativeFile: join(dir, 'kong.yaml'),
      dataDir: join(dir, 'both'),
      proxyListen: { host: '127.0.0.1', port: 0 },
      statusListen: { host: '127.0.0.1', port: 0 },
      logger,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'GH_ERR_CONFIG_INVALID_SETTING' });
  });
});

/**
 * A DB-less data plane as a real process: `gatehouse dp --config FILE` (or, while the CLI has no
 * `--config`, the test launcher e2e/helpers/dp-launcher.mjs calling startDataPlane the same way)
 * serves a Kong 3.0 declarative file with no control plane; SIGHUP with a changed file swaps in
 * the new routes; SIGHUP with a broken file keeps the old config served and shows the error in
 * /status.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freePort,
  GATEHOUSE,
  httpStatus,
  Proc,
  ROOT,
  runGatehouse,
  startUpstream,
  tempDir,
  waitUntil,
} from './helpers/processes.js';

const cliHasConfigFlag = (): boolean => {
  const help = spawnSync(GATEHOUSE, ['dp', '--help'], { cwd: ROOT, encoding: 'utf8' });
  return /--config\b/.test(help.stdout ?? '');
};

async function startDbless(file: string, dataDir: string) {
  const proxyPort = await freePort();
  const statusPort = await freePort();
  let proc: Proc;
  if (cliHasConfigFlag()) {
    proc = runGatehouse('dp-dbless', [
      'dp',
      '--config',
      file,
      '--data-dir',
      dataDir,
      '--workers',
      '2',
      '--listen',
      `127.0.0.1:${proxyPort}`,
      '--status-listen',
      `127.0.0.1:${statusPort}`,
    ]);
  } else {
    const opts = { declarativeFile: file, dataDir, workers: 2, proxyPort, statusPort };
    const child = spawn(process.execPath, [join(ROOT, 'e2e/helpers/dp-launcher.mjs'), JSON.stringify(opts)], {
      cwd: ROOT,
      env: { ...process.env, GATEHOUSE_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc = new Proc('dp-dbless', child);
  }
  const h = { proc, proxy: `http://127.0.0.1:${proxyPort}`, status: `http://127.0.0.1:${statusPort}` };
  try {
    await waitUntil(
      'DB-less data plane ready',
      async () => {
        if (!proc.alive) throw new Error('dp exited');
        return (await httpStatus(`${h.status}/status/ready`)) === 200;
      },
      60_000,
    );
  } catch (e) {
    await proc.stop();
    throw new Error(`${(e as Error).message}\n--- dp output ---\n${proc.output}`);
  }
  return h;
}

describe('DB-less data plane process', () => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let dp: Awaited<ReturnType<typeof startDbless>>;
  const dir = tempDir('dbless');
  const file = join(dir, 'kong.yaml');
  const kongFile = (paths: string[]) => `_format_version: "3.0"
services:
  - name: echo
    url: ${upstream.url}/base
    routes:
${paths.map((p) => `      - name: r${p.replaceAll('/', '-')}\n        paths: ["${p}"]`).join('\n')}
`;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the /status JSON
  const status = async (): Promise<any> => (await fetch(`${dp.status}/status`)).json();

  beforeAll(async () => {
    upstream = await startUpstream();
    await writeFile(file, kongFile(['/one']));
    dp = await startDbless(file, join(dir, 'data'));
  });
  afterAll(async () => {
    await dp?.proc.stop();
    await upstream?.close();
  });

  it('serves the declarative file and shows source "declarative" and the file in /status', async () => {
    const r = await fetch(`${dp.proxy}/one/x`);
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ url: '/base/x' });
    const s = await status();
    expect(s.config).toMatchObject({ version: '1', source: 'declarative' });
    expect(s.declarative).toMatchObject({ file, last_reload_error: null });
    expect(s.sync.state).toBe('disabled');
  });

  it('reloads on SIGHUP: the changed file is served, the removed route is gone', async () => {
    await writeFile(file, kongFile(['/two']));
    dp.proc.child.kill('SIGHUP');
    await waitUntil('the new route is served', async () => (await httpStatus(`${dp.proxy}/two`)) === 200);
    // Every worker took it (fresh connections spread over both workers).
    for (let i = 0; i < 6; i++) {
      expect(await httpStatus(`${dp.proxy}/two`, { headers: { connection: 'close' } })).toBe(200);
      expect(await httpStatus(`${dp.proxy}/one`, { headers: { connection: 'close' } })).toBe(404);
    }
    expect((await status()).config).toMatchObject({ version: '2', source: 'declarative' });
    expect(dp.proc.alive).toBe(true);
  });

  it('refuses a broken file on SIGHUP: the old config keeps serving and /status shows the error', async () => {
    await writeFile(file, '_format_version: "3.0"\nservices:\n  - name: broken\n    url: [not a url\n');
    dp.proc.child.kill('SIGHUP');
    await waitUntil(
      'the reload error is reported',
      async () => (await status()).declarative.last_reload_error !== null,
    );
    const s = await status();
    expect(s.declarative.last_reload_error.code).toMatch(/^GH_ERR_DECLARATIVE_/);
    expect(s.declarative.last_reload_error.message).toContain(file);
    expect(s.config).toMatchObject({ version: '2' });
    expect(s.ready).toBe(true);
    for (let i = 0; i < 6; i++) {
      expect(await httpStatus(`${dp.proxy}/two`, { headers: { connection: 'close' } })).toBe(200);
    }
    expect(dp.proc.alive).toBe(true);
    expect(dp.proc.output).toMatch(/declarative config reload refused/);
  });
});

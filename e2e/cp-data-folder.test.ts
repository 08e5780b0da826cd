/**
 * One embedded database, one process (issue 8 item 2), with real processes: a running control
 * plane holds its data folder's lock and publishes its Admin API address there; `gatehouse config`
 * without --admin-url goes through that CP (the change reaches a DP); a second CP on the folder
 * refuses; an address that cannot be used is refused naming --admin-url; a stale lock (its CP
 * killed with SIGKILL) is taken over.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminJson,
  freePort,
  httpStatus,
  runGatehouse,
  startCp,
  startDp,
  startUpstream,
  tempDir,
  waitUntil,
  type CpHandle,
  type DpHandle,
} from './helpers/processes.js';

async function gatehouse(args: string[]): Promise<{ code: number | null; output: string }> {
  const p = runGatehouse(args[0]!, args, { GATEHOUSE_LOG_LEVEL: 'warn' });
  // A process that hangs (a second opener of the database did, before the lock) is not left behind.
  const t = setTimeout(() => p.child.kill('SIGKILL'), 120_000);
  const code = await p.exited;
  clearTimeout(t);
  return { code, output: p.output };
}

describe('the control plane data folder', () => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let cp: CpHandle;
  let dp: DpHandle;
  const cpDir = tempDir('cp-folder');
  const work = tempDir('cp-folder-files');

  beforeAll(async () => {
    upstream = await startUpstream();
    cp = await startCp({ dataDir: cpDir, freshDatabase: true });
    dp = await startDp({
      cluster: `127.0.0.1:${cp.clusterPort}`,
      publicKeys: cp.publicKeys,
      dataDir: tempDir('cp-folder-dp'),
      workers: 1,
    });
  });

  afterAll(async () => {
    await Promise.all([cp?.proc.stop(), dp?.proc.stop()]);
    await upstream?.close();
  });

  it('holds a lock with its pid and publishes its Admin API address while it runs', () => {
    expect(readFileSync(join(cpDir, 'cp.lock'), 'utf8')).toBe(`${cp.proc.child.pid}\n`);
    expect(JSON.parse(readFileSync(join(cpDir, 'cp.json'), 'utf8'))).toMatchObject({
      pid: cp.proc.child.pid,
      adminUrl: cp.admin,
    });
  });

  it('config import/diff/export without --admin-url go through the running CP, and the change reaches the DP', async () => {
    const file = join(work, 'kong.yaml');
    writeFileSync(
      file,
      `_format_version: "3.0"\nservices:\n  - name: imported\n    url: ${upstream.url}\n    routes:\n      - name: imported-route\n        paths: [/imported]\n`,
    );
    const diff = await gatehouse(['config', 'diff', file, '--data-dir', cpDir]);
    expect(diff.output).toContain(`using the running control plane at ${cp.admin}`);
    expect(diff.output).toContain("+ create service 'imported'");
    expect(diff.code).toBe(0);

    const imp = await gatehouse(['config', 'import', file, '--data-dir', cpDir]);
    expect(imp.output).toContain(`using the running control plane at ${cp.admin}`);
    expect(imp.output).toContain('applied');
    expect(imp.code).toBe(0);
    // The running CP has it (and published a snapshot: the DP serves it).
    expect((await adminJson(cp.admin, 'GET', '/services/imported')).status).toBe(200);
    await waitUntil(
      'imported route served by the DP',
      async () => (await httpStatus(`${dp.proxy}/imported`)) === 200,
    );

    const exp = await gatehouse(['config', 'export', '--data-dir', cpDir]);
    expect(exp.code).toBe(0);
    expect(exp.output).toContain('name: imported');
    // Nothing opened the database beside the CP: the lock is still the CP's.
    expect(readFileSync(join(cpDir, 'cp.lock'), 'utf8')).toBe(`${cp.proc.child.pid}\n`);
  });

  it('a second control plane on the same folder refuses, naming the running one', async () => {
    const [admin, cluster] = [await freePort(), await freePort()];
    const second = await gatehouse([
      'cp',
      '--dev',
      '--data-dir',
      cpDir,
      '--admin-listen',
      `127.0.0.1:${admin}`,
      '--cluster-listen',
      `127.0.0.1:${cluster}`,
    ]);
    expect(second.code).toBe(1);
    expect(second.output).toContain(
      `is in use by a running control plane (pid ${cp.proc.child.pid}, Admin API ${cp.admin})`,
    );
    expect(second.output).toContain('GH_ERR_DATA_FOLDER_LOCKED');
    expect(readFileSync(join(cpDir, 'cp.lock'), 'utf8')).toBe(`${cp.proc.child.pid}\n`);
    expect((await adminJson(cp.admin, 'GET', '/services/imported')).status).toBe(200);
  });

  it('refuses, naming --admin-url, when the published address cannot be used', async () => {
    const published = readFileSync(join(cpDir, 'cp.json'), 'utf8');
    try {
      const dead = `http://127.0.0.1:${await freePort()}`;
      writeFileSync(join(cpDir, 'cp.json'), JSON.stringify({ ...JSON.parse(published), adminUrl: dead }));
      let r = await gatehouse(['config', 'export', '--data-dir', cpDir]);
      expect(r.code).toBe(1);
      expect(r.output).toContain(`cannot reach the Admin API at ${dead}`);
      expect(r.output).toContain('--admin-url');

      // An address off this host is never used (an admin token may be sent there).
      writeFileSync(
        join(cpDir, 'cp.json'),
        JSON.stringify({ ...JSON.parse(published), adminUrl: 'http://example.invalid:8001' }),
      );
      r = await gatehouse(['config', 'export', '--data-dir', cpDir]);
      expect(r.code).toBe(1);
      expect(r.output).toContain(`in use by process ${cp.proc.child.pid}`);
      expect(r.output).toContain('--admin-url');
    } finally {
      writeFileSync(join(cpDir, 'cp.json'), published);
    }
  });

  it('a lock left by a CP killed with SIGKILL is stale: config opens the database, a new CP takes over', async () => {
    const oldPid = cp.proc.child.pid!;
    await cp.proc.kill9();
    expect(readFileSync(join(cpDir, 'cp.lock'), 'utf8')).toBe(`${oldPid}\n`);

    // No CP runs: the command opens the database itself (holding the lock meanwhile), then releases it.
    const exp = await gatehouse(['config', 'export', '--data-dir', cpDir]);
    expect(exp.code).toBe(0);
    expect(exp.output).toContain('took over a stale data folder lock');
    expect(exp.output).not.toContain('using the running control plane');
    expect(exp.output).toContain('name: imported');
    expect(existsSync(join(cpDir, 'cp.lock'))).toBe(false);

    // Killed again, and a new CP starts over the stale lock; the DP reconnects and keeps serving.
    writeFileSync(join(cpDir, 'cp.lock'), `${oldPid}\n`);
    cp = await startCp({ dataDir: cpDir, clusterPort: cp.clusterPort });
    expect(cp.proc.output).toContain('took over a stale data folder lock');
    expect(readFileSync(join(cpDir, 'cp.lock'), 'utf8')).toBe(`${cp.proc.child.pid}\n`);
    expect(
      (await adminJson(cp.admin, 'POST', '/services/imported/routes', { paths: ['/later'] })).status,
    ).toBe(201);
    await waitUntil(
      'route made on the new CP served',
      async () => (await httpStatus(`${dp.proxy}/later`)) === 200,
      60_000,
    );

    // Stopped cleanly, it releases the lock and the address.
    await cp.proc.stop();
    expect(existsSync(join(cpDir, 'cp.lock'))).toBe(false);
    expect(existsSync(join(cpDir, 'cp.json'))).toBe(false);
  });
});

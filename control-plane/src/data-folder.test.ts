import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { isGatehouseError } from '@gatehouse/shared';
import {
  checkDataFolder,
  connectableUrl,
  DATA_FOLDER,
  DataFolderLock,
  findLockHolder,
  parseAddressFile,
  parseLockPid,
} from './data-folder.js';

const dirs: string[] = [];
function tempFolder(): string {
  const d = mkdtempSync(join(tmpdir(), 'gatehouse-data-folder-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A pid that belonged to a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return child.pid!;
}

/** Another live process (the holder of a lock in the tests below). */
function liveProcess() {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  return { pid: child.pid!, stop: () => child.kill('SIGKILL') };
}

async function lockedError(p: Promise<unknown>) {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(isGatehouseError(e)).toBe(true);
  return e as { code: string; message: string; details?: Record<string, unknown> };
}

function logger() {
  const warnings: unknown[] = [];
  return {
    warnings,
    // Only warn is used by the lock; the rest satisfy the Logger type.
    log: { warn: (o: unknown) => warnings.push(o) } as never,
  };
}

describe('data folder lock', () => {
  it('is a pid file created on acquire, refused to a second opener, removed on release', async () => {
    const dir = tempFolder();
    const lock = await DataFolderLock.acquire(dir);
    expect(readFileSync(join(dir, DATA_FOLDER.lock), 'utf8')).toBe(`${process.pid}\n`);
    const e = await lockedError(DataFolderLock.acquire(dir));
    expect(e.code).toBe('GH_ERR_DATA_FOLDER_LOCKED');
    expect(e.message).toContain('--admin-url');
    // A second replica on the same embedded database is told the fix: one Postgres.
    expect(e.message).toContain('DATABASE_URL');
    await lock.publish({ adminUrl: 'http://0.0.0.0:8123', clusterAddress: '127.0.0.1:8005', cpId: 'cp1' });
    expect(await findLockHolder(dir)).toMatchObject({
      pid: process.pid,
      address: { adminUrl: 'http://127.0.0.1:8123', cpId: 'cp1', pid: process.pid },
    });
    await lock.release();
    expect(existsSync(join(dir, DATA_FOLDER.lock))).toBe(false);
    expect(existsSync(join(dir, DATA_FOLDER.address))).toBe(false);
    expect(await findLockHolder(dir)).toBeNull();
    await (await DataFolderLock.acquire(dir)).release();
  });

  it('refuses while another live process holds it, naming its pid and published Admin API', async () => {
    const dir = tempFolder();
    const other = liveProcess();
    try {
      writeFileSync(join(dir, DATA_FOLDER.lock), `${other.pid}\n`);
      let e = await lockedError(DataFolderLock.acquire(dir));
      expect(e.message).toContain(`process ${other.pid}`);
      writeFileSync(
        join(dir, DATA_FOLDER.address),
        JSON.stringify({ pid: other.pid, hostname: hostname(), adminUrl: 'http://127.0.0.1:9001' }),
      );
      e = await lockedError(DataFolderLock.acquire(dir));
      expect(e.message).toContain(`pid ${other.pid}, Admin API http://127.0.0.1:9001`);
      expect(readFileSync(join(dir, DATA_FOLDER.lock), 'utf8')).toBe(`${other.pid}\n`);
    } finally {
      other.stop();
    }
  });

  it('takes over a stale lock (its process is gone, or its text is not a pid) and says so', async () => {
    for (const text of [`${await deadPid()}\n`, '', 'garbage', '-1\n', '0\n', '99999999999\n']) {
      const dir = tempFolder();
      writeFileSync(join(dir, DATA_FOLDER.lock), text);
      writeFileSync(join(dir, DATA_FOLDER.address), '{"stale":true}');
      const l = logger();
      const lock = await DataFolderLock.acquire(dir, l.log);
      expect(readFileSync(join(dir, DATA_FOLDER.lock), 'utf8')).toBe(`${process.pid}\n`);
      expect(existsSync(join(dir, DATA_FOLDER.address))).toBe(false);
      expect(l.warnings).toHaveLength(1);
      await lock.release();
    }
  });

  it('never removes a lock another process took over', async () => {
    const dir = tempFolder();
    const lock = await DataFolderLock.acquire(dir);
    writeFileSync(join(dir, DATA_FOLDER.lock), '4242\n');
    await lock.release();
    expect(readFileSync(join(dir, DATA_FOLDER.lock), 'utf8')).toBe('4242\n');
  });

  it('refuses a --data-dir that is the embedded database folder itself', async () => {
    const dir = tempFolder();
    await checkDataFolder(dir);
    writeFileSync(join(dir, 'PG_VERSION'), '17\n');
    const e = await lockedError(checkDataFolder(dir));
    expect(e.code).toBe('GH_ERR_DATA_FOLDER_WRONG');
    mkdirSync(join(dir, DATA_FOLDER.database));
    await checkDataFolder(dir); // a CP data folder (with a stray PG_VERSION) is fine
  });

  it('hostile lock and address files: acquire either takes the lock or refuses, never crashes', async () => {
    const dir = tempFolder();
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 40 }),
        fc.string({ maxLength: 200 }),
        async (lockText, json) => {
          writeFileSync(join(dir, DATA_FOLDER.lock), lockText);
          writeFileSync(join(dir, DATA_FOLDER.address), json);
          try {
            const lock = await DataFolderLock.acquire(dir);
            await lock.release();
          } catch (e) {
            expect(isGatehouseError(e) && e.code).toBe('GH_ERR_DATA_FOLDER_LOCKED');
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('lock and address file parsers', () => {
  it('parseLockPid accepts only "<pid>\\n" and never throws', () => {
    expect(parseLockPid('123\n')).toBe(123);
    expect(parseLockPid('123')).toBe(123);
    for (const bad of [
      '',
      '\n',
      '12 3\n',
      '0x10\n',
      '1e3',
      '-5\n',
      '0\n',
      '01\n',
      '3000000000\n',
      '12\n\n',
      '__proto__',
    ]) {
      expect(parseLockPid(bad)).toBeNull();
    }
    fc.assert(
      fc.property(fc.string(), (s) => {
        const pid = parseLockPid(s);
        expect(pid === null || (Number.isInteger(pid) && pid > 0 && s.startsWith(String(pid)))).toBe(true);
      }),
    );
  });

  it('parseAddressFile trusts only a local http(s) origin published by the lock holder', () => {
    const good = { pid: 7, hostname: hostname(), adminUrl: 'http://127.0.0.1:8001' };
    expect(parseAddressFile(JSON.stringify(good), 7)?.adminUrl).toBe('http://127.0.0.1:8001');
    expect(parseAddressFile(JSON.stringify({ ...good, adminUrl: 'http://[::1]:8001' }), 7)?.adminUrl).toBe(
      'http://[::1]:8001',
    );
    for (const bad of [
      { ...good, pid: 8 },
      { ...good, hostname: 'elsewhere' },
      { ...good, adminUrl: 'http://evil.example:8001' },
      { ...good, adminUrl: 'http://10.255.255.1:8001' },
      { ...good, adminUrl: 'http://user:pw@127.0.0.1:8001' },
      { ...good, adminUrl: 'http://127.0.0.1:8001/prefix' },
      { ...good, adminUrl: 'file:///etc/passwd' },
      { ...good, adminUrl: 'http://127.0.0.1' },
      { ...good, adminUrl: 42 },
    ]) {
      expect(parseAddressFile(JSON.stringify(bad), 7)).toBeNull();
    }
    expect(parseAddressFile('{"__proto__":{"polluted":1},"pid":7}', 7)).toBeNull();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((j) => JSON.stringify(j)),
        ),
        (text) => {
          const a = parseAddressFile(text, 7);
          if (a) expect(new URL(a.adminUrl).origin).toBe(a.adminUrl);
        },
      ),
    );
  });

  it('connectableUrl turns the unspecified address into loopback', () => {
    expect(connectableUrl('http://0.0.0.0:8001')).toBe('http://127.0.0.1:8001');
    expect(connectableUrl('http://[::]:8001')).toBe('http://[::1]:8001');
    expect(connectableUrl('http://127.0.0.1:8001')).toBe('http://127.0.0.1:8001');
  });
});

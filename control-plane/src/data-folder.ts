/**
 * The control plane's data folder and who may open it. An embedded (PGlite) database must never be
 * opened by two processes: whoever opens it (`gatehouse cp`, or `gatehouse config` when no CP
 * runs) first takes the folder's lock, `cp.lock`, a pid file created exclusively. A lock whose
 * process is gone (a CP killed with SIGKILL) is stale and taken over. A running CP also publishes
 * its Admin API address in `cp.json`, so `gatehouse config` can go through it instead.
 *
 * With a Postgres URL nothing here is used: several processes may share Postgres.
 */
import { hostname, networkInterfaces } from 'node:os';
import { link, mkdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineError, type Logger } from '@gatehouse/shared';
import { fileExists } from './files.js';

/** The files of a control plane's data folder that this module owns (one place for their names). */
export const DATA_FOLDER = {
  /** The lock: the holder's pid and a newline (`kill $(cat cp.lock)` works). */
  lock: 'cp.lock',
  /** The running CP's addresses (JSON), written once its Admin API listens. */
  address: 'cp.json',
  /** The embedded database's folder. */
  database: 'pglite',
} as const;

export const DataFolderErrors = {
  /** Another live process holds the folder's lock. */
  locked: defineError('GH_ERR_DATA_FOLDER_LOCKED', 409),
  /** `--data-dir` names the database folder itself rather than the CP's data folder. */
  wrongFolder: defineError('GH_ERR_DATA_FOLDER_WRONG', 400),
} as const;

/** The embedded database's folder inside a CP data folder. */
export function databaseDir(dataDir: string): string {
  return join(dataDir, DATA_FOLDER.database);
}

/**
 * Refuses a `--data-dir` that names the embedded database folder itself (`<data-dir>/pglite`)
 * rather than the CP's data folder: opening it would bypass the lock.
 */
export async function checkDataFolder(dataDir: string): Promise<void> {
  if ((await fileExists(join(dataDir, 'PG_VERSION'))) && !(await fileExists(databaseDir(dataDir)))) {
    throw DataFolderErrors.wrongFolder(
      `${dataDir} is an embedded database folder; pass the control plane's data folder (the one ` +
        `holding ${DATA_FOLDER.database}/, as given to 'gatehouse cp --data-dir') instead`,
      { dataDir },
    );
  }
}

/** What the running CP publishes in `cp.json`. */
export interface ControlPlaneAddress {
  pid: number;
  adminUrl: string;
  clusterAddress: string;
  cpId: string;
  hostname: string;
  startedAt: string;
}

/** Who holds a folder's lock, and the address it published (a CP that is up), if any. */
export interface LockHolder {
  pid: number;
  address: ControlPlaneAddress | null;
}

/** The pid a lock file names, or null when its text is not `<pid>\n` (then the lock is stale). */
export function parseLockPid(text: string): number | null {
  const m = /^([1-9]\d{0,9})\r?\n?$/.exec(text);
  if (!m) return null;
  const pid = Number(m[1]);
  return pid > 0 && pid <= 0x7fffffff ? pid : null;
}

const LOOPBACK_V4 = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** Addresses of this host a CP may listen on (so a published address never sends us elsewhere). */
function localHosts(): Set<string> {
  const hosts = new Set(['localhost', '::1']);
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) hosts.add(a.address);
  }
  return hosts;
}

/**
 * Reads `cp.json` text: the address the CP with `pid` published, or null when the text is not
 * one (not JSON, another pid, another host, a URL that is not `http(s)://<this host>:<port>`).
 * `gatehouse config` may send an admin token there, so an address off this host is never trusted.
 */
export function parseAddressFile(text: string, pid: number): ControlPlaneAddress | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
  const r = raw as Record<string, unknown>;
  const str = (k: string) => (typeof r[k] === 'string' ? r[k] : '');
  if (r.pid !== pid || str('hostname') !== hostname()) return null;
  let url: URL;
  try {
    url = new URL(str('adminUrl'));
  } catch {
    return null;
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!['http:', 'https:'].includes(url.protocol) || !url.port || url.username || url.password) return null;
  if (url.pathname !== '/' || url.search || url.hash) return null;
  if (!LOOPBACK_V4.test(host) && !localHosts().has(host)) return null;
  return {
    pid,
    adminUrl: url.origin,
    clusterAddress: str('clusterAddress'),
    cpId: str('cpId'),
    hostname: str('hostname'),
    startedAt: str('startedAt'),
  };
}

/** Whether a process with this pid exists (EPERM: it does, as another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readText(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** Lock files this process holds (an in-process second opener is refused, not handed a takeover). */
const heldHere = new Set<string>();

/**
 * A lock file's holder is live when its process exists and is not this one — unless this process
 * holds it itself (a restarted container often gets the same pid as the CP that wrote the lock).
 */
function liveHolder(file: string, pid: number | null): pid is number {
  if (pid === null) return false;
  if (pid === process.pid) return heldHere.has(file);
  return processAlive(pid);
}

/** The folder's lock holder and its published address, or null when no live process holds it. */
export async function findLockHolder(dataDir: string): Promise<LockHolder | null> {
  const file = join(dataDir, DATA_FOLDER.lock);
  const text = await readText(file);
  const pid = text === null ? null : parseLockPid(text);
  if (!liveHolder(file, pid)) return null;
  const addressText = await readText(join(dataDir, DATA_FOLDER.address));
  return { pid, address: addressText === null ? null : parseAddressFile(addressText, pid) };
}

function lockedError(dataDir: string, holder: LockHolder) {
  const who = holder.address
    ? `a running control plane (pid ${holder.pid}, Admin API ${holder.address.adminUrl})`
    : `process ${holder.pid} (a control plane starting up, or a 'gatehouse config' command)`;
  return DataFolderErrors.locked(
    `the data folder ${dataDir} is in use by ${who}; its embedded database allows one process. ` +
      `Stop that process, use another --data-dir, or talk to the running control plane with ` +
      `'gatehouse config … --admin-url URL'. Several control planes (replicas) need one Postgres: ` +
      `set DATABASE_URL (--database-url)`,
    { dataDir, pid: holder.pid, adminUrl: holder.address?.adminUrl ?? null },
  );
}

/** The data folder's lock, held by this process until `release()`. */
export class DataFolderLock {
  private released = false;
  private constructor(
    readonly dataDir: string,
    readonly file: string,
  ) {}

  /**
   * Takes the lock of `dataDir` (created if missing), taking over a stale one. Throws
   * `GH_ERR_DATA_FOLDER_LOCKED` naming the live holder (and its Admin API, if it published one).
   */
  static async acquire(dataDir: string, logger?: Logger): Promise<DataFolderLock> {
    await mkdir(dataDir, { recursive: true });
    const file = join(dataDir, DATA_FOLDER.lock);
    if (heldHere.has(file)) throw lockedError(dataDir, { pid: process.pid, address: null });
    // Written whole under a temporary name, then linked into place: link() fails when the lock
    // exists, and a reader never sees a half-written pid.
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, `${process.pid}\n`);
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          await link(tmp, file);
          heldHere.add(file);
          return new DataFolderLock(dataDir, file);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 5) throw e;
        }
        const text = await readText(file);
        if (text === null) continue; // released meanwhile
        const pid = parseLockPid(text);
        if (liveHolder(file, pid))
          throw lockedError(dataDir, (await findLockHolder(dataDir)) ?? { pid, address: null });
        // Stale: move it aside (atomic), then check what was moved — another opener may have
        // taken over the stale lock between our read and the rename; then put its lock back.
        const aside = `${file}.${process.pid}.stale`;
        try {
          await rename(file, aside);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
          throw e;
        }
        const movedPid = parseLockPid((await readText(aside)) ?? '');
        if (liveHolder(file, movedPid)) {
          await link(aside, file).catch(() => undefined);
          await unlink(aside).catch(() => undefined);
          throw lockedError(dataDir, { pid: movedPid, address: null });
        }
        await unlink(aside);
        await rm(join(dataDir, DATA_FOLDER.address), { force: true });
        logger?.warn(
          { dataDir, stalePid: pid, lock: file },
          'took over a stale data folder lock (its process is gone)',
        );
      }
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }

  /** Publishes the running CP's addresses in `cp.json` (written whole, then renamed into place). */
  async publish(address: Omit<ControlPlaneAddress, 'pid' | 'hostname' | 'startedAt'>): Promise<void> {
    const full: ControlPlaneAddress = {
      pid: process.pid,
      adminUrl: connectableUrl(address.adminUrl),
      clusterAddress: address.clusterAddress,
      cpId: address.cpId,
      hostname: hostname(),
      startedAt: new Date().toISOString(),
    };
    const file = join(this.dataDir, DATA_FOLDER.address);
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(full, null, 2) + '\n');
    await rename(tmp, file);
  }

  /** Removes `cp.json` and the lock (once; a released lock stays released). */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    heldHere.delete(this.file);
    await rm(join(this.dataDir, DATA_FOLDER.address), { force: true });
    // Only our own lock: never remove one another process took over.
    const text = await readText(this.file);
    if (text !== null && parseLockPid(text) === process.pid) await rm(this.file, { force: true });
  }
}

/** An Admin API URL a local client can connect to: the unspecified address becomes loopback. */
export function connectableUrl(url: string): string {
  const u = new URL(url);
  if (u.hostname === '0.0.0.0') u.hostname = '127.0.0.1';
  else if (u.hostname === '[::]') u.hostname = '[::1]';
  return u.origin;
}

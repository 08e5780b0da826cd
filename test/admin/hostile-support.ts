/**
 * Shared by the hostile-input tests: a real control plane started in this process (so a
 * prototype written by any of its parsers is visible here), and the prototype check.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { startControlPlane, type ControlPlane } from '../../control-plane/src/control-plane.js';
import { createPostgresDatabase, quietLogger, type DbKind } from '../helpers/db.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response JSON, checked by assertions
export type Json = any;

export interface Reply {
  status: number;
  body: Json;
}

export interface InProcessCp {
  cp: ControlPlane;
  /** The Postgres database's URL (undefined on PGlite). */
  databaseUrl: string | undefined;
  call(method: string, path: string, body?: unknown, contentType?: string): Promise<Reply>;
  stop(): Promise<void>;
}

/** A control plane (Admin API with `/config`, cluster port) on ephemeral ports, in this process. */
export async function startInProcessCp(kind: DbKind): Promise<InProcessCp> {
  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-hostile-'));
  const pg = kind === 'postgres' ? await createPostgresDatabase() : undefined;
  const cp = await startControlPlane({
    adminListen: { host: '127.0.0.1', port: 0 },
    clusterListen: { host: '127.0.0.1', port: 0 },
    dataDir,
    databaseUrl: pg?.url,
    dev: true,
    logger: quietLogger('cp'),
  });
  const call = async (method: string, path: string, body?: unknown, contentType = 'application/json') => {
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      init.headers = { 'content-type': contentType };
    }
    const res = await fetch(cp.adminUrl + path, init);
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed };
  };
  return {
    cp,
    databaseUrl: pg?.url,
    call,
    async stop() {
      await cp.stop();
      await pg?.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The own property names of the prototypes a pollution would touch. */
export function prototypeSnapshot(): string[] {
  return [Object.prototype, Array.prototype, Function.prototype, String.prototype].flatMap((p) =>
    Object.getOwnPropertyNames(p).sort(),
  );
}

const PRISTINE = prototypeSnapshot();

/** Object.prototype (and friends) exactly as at load, and no inherited junk on a fresh object. */
export function expectPristinePrototypes(): void {
  expect(prototypeSnapshot()).toEqual(PRISTINE);
  const fresh = {} as Record<string, unknown>;
  for (const name of ['x', 'polluted', '@entity', 'config', 'sort']) expect(fresh[name]).toBeUndefined();
  expect(typeof [].sort).toBe('function');
}

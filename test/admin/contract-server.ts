/**
 * The one Admin API test server the contract files (`*-contract.ts`) share: a migrated database of
 * the given kind, a ConfigStore on it, the Admin API app on an ephemeral loopback port, and a
 * client for it. `useAdminServer` opens one per test file (its describes share it) and empties
 * every entity table before each test, so a case never sees another's rows.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { ENTITY_RECORDS, type Logger } from '@gatehouse/shared';
import { createAdminApp } from '../../control-plane/src/admin/index.js';
import { ConfigStore } from '../../control-plane/src/store/index.js';
import { loadPluginRegistry } from '../../data-plane/src/plugins/index.js';
import { createTestDatabase, quietLogger, type DbKind, type TestDatabase } from '../helpers/db.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response JSON, checked by assertions
export type Json = any;

export interface Reply {
  status: number;
  /** The body parsed as JSON; the text itself when it is not JSON; undefined when empty. */
  body: Json;
  text: string;
  headers: Headers;
}

type PluginRegistry = Awaited<ReturnType<typeof loadPluginRegistry>>;
type Router = NonNullable<Parameters<typeof createAdminApp>[0]['routers']>[number];

export interface AdminServerOptions {
  /** Give the store the bundled plugin registry (default true). */
  plugins?: boolean;
  /** The Admin API's body limit (the app's default when unset). */
  bodyLimit?: string;
  /** Extra routers mounted on the Admin API (e.g. the declarative `/config`). */
  routers?: (ctx: { store: ConfigStore; logger: Logger; plugins?: PluginRegistry }) => Router[];
}

export interface AdminClient {
  /** A JSON body unless `body` is a string (sent as is) or undefined (no body at all). */
  call: (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<Reply>;
  /** `call`, expecting `status` (201 unless given); answers the parsed body. */
  ok: (method: string, path: string, body?: unknown, status?: number) => Promise<Json>;
  /**
   * A request whose target is sent byte for byte (`path` holds one byte per character, as Kong's
   * specs send `string.char(255)`), with exactly the headers given and an optional body.
   */
  raw: (method: string, path: string, headers?: Record<string, string>, body?: string) => Promise<Reply>;
}

export interface AdminServer extends AdminClient {
  kind: DbKind;
  tdb: TestDatabase;
  store: ConfigStore;
  base: string;
  port: number;
  /** Empties every entity table (the join tables go with their rows). */
  clear: () => Promise<void>;
  stop: () => Promise<void>;
}

/** `text` as the latin-1 string of its UTF-8 bytes: a raw non-ASCII request target. */
export const bytes = (text: string) => Buffer.from(text, 'utf8').toString('latin1');

function parse(text: string): Json {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
}

/** A client of the HTTP server at `base` (http://127.0.0.1:PORT), sending `defaults` headers. */
export function adminClient(base: string, defaults: Record<string, string> = {}): AdminClient {
  const url = new URL(base);
  const client: AdminClient = {
    async call(method, path, body, headers = {}) {
      const all: Record<string, string> = { ...defaults, ...headers };
      const init: RequestInit = { method, headers: all };
      if (body !== undefined) {
        init.body = typeof body === 'string' ? body : JSON.stringify(body);
        if (!('content-type' in headers)) all['content-type'] = 'application/json';
      }
      const res = await fetch(base + path, init);
      const text = await res.text();
      return { status: res.status, body: parse(text), text, headers: res.headers };
    },
    async ok(method, path, body, status = 201) {
      const r = await client.call(method, path, body);
      expect(r.status, `${method} ${path}: ${r.text}`).toBe(status);
      return r.body as unknown;
    },
    raw(method, path, headers = {}, body) {
      return new Promise<Reply>((resolve, reject) => {
        const req = request(
          { host: url.hostname, port: url.port, method, path, headers: { ...defaults, ...headers } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              const h = new Headers();
              for (const [k, v] of Object.entries(res.headers))
                if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v);
              resolve({ status: res.statusCode ?? 0, body: parse(text), text, headers: h });
            });
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    },
  };
  return client;
}

/** Every entity's Prisma delegate, children first: what `clear` empties, in this order. */
const DELEGATES = ENTITY_RECORDS.map((r) => r.delegate).reverse();

/** A migrated database of `kind` with the Admin API in front of it, on 127.0.0.1:0. */
export async function startAdminServer(kind: DbKind, options: AdminServerOptions = {}): Promise<AdminServer> {
  const tdb = await createTestDatabase(kind);
  try {
    const logger = quietLogger('admin');
    const plugins = options.plugins === false ? undefined : await loadPluginRegistry();
    const store = new ConfigStore(tdb.db, plugins ? { logger, plugins } : { logger });
    const routers = options.routers?.({ store, logger, plugins });
    const server: Server = createServer(
      createAdminApp({
        store,
        logger,
        ...(options.bodyLimit ? { bodyLimit: options.bodyLimit } : {}),
        ...(routers ? { routers } : {}),
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const base = `http://127.0.0.1:${port}`;
    return {
      kind,
      tdb,
      store,
      base,
      port,
      ...adminClient(base),
      async clear() {
        const prisma = tdb.db.prisma as unknown as Record<string, { deleteMany(): Promise<unknown> }>;
        for (const d of DELEGATES) await prisma[d]!.deleteMany();
      },
      async stop() {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await tdb.drop();
      },
    };
  } catch (e) {
    await tdb.drop();
    throw e;
  }
}

/**
 * One admin server for the calling test file (started in `beforeAll`, stopped in `afterAll`),
 * its entity tables emptied before each test. The handle's members are valid inside tests and
 * hooks, not while the describes are being collected.
 */
export function useAdminServer(kind: DbKind, options: AdminServerOptions = {}): AdminServer {
  let current: AdminServer | undefined;
  const get = (): AdminServer => {
    if (!current) throw new Error('the admin server is not started yet: use it inside a test or hook');
    return current;
  };
  beforeAll(async () => {
    current = await startAdminServer(kind, options);
  });
  afterAll(async () => {
    await current?.stop();
  });
  beforeEach(() => get().clear());
  return {
    kind,
    get tdb() {
      return get().tdb;
    },
    get store() {
      return get().store;
    },
    get base() {
      return get().base;
    },
    get port() {
      return get().port;
    },
    call: (...a) => get().call(...a),
    ok: (...a) => get().ok(...a),
    raw: (...a) => get().raw(...a),
    clear: () => get().clear(),
    stop: () => get().stop(),
  };
}

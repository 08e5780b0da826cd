/**
 * TEST ONLY: the chaos suite's snapshot hook (docs/chaos.md, "The snapshot hook"). Never part of a
 * production build: `tsconfig.build.json` leaves this folder out of `dist/`, and the CP loads it
 * only through cluster/test-hook.ts when GATEHOUSE_TEST_SNAPSHOT_HOOK is set.
 *
 * A loopback HTTP endpoint; each POST makes the CP write something a DP must refuse, and answers
 * `{ at, version, hash, nodes }` (`at`: Date.now() just before the write):
 *
 *   POST /tamper-next       the next { count } (default 1) snapshots or deltas written to DPs have
 *                           one byte of their config (ops) flipped after signing (decompressed,
 *                           flipped, compressed again)
 *   POST /sign              the newest config signed with the key in the body, to every DP now:
 *                           { jwk (private), certificate?, revocations?, path? }; with `path`, a
 *                           route at that path is added and the version is one above the newest
 *   POST /replay            the snapshot published before the newest is written to every DP now
 *   POST /replay-on-hello   the same, to the next DP that says Hello, before anything else
 *   POST /invalid           a snapshot signed by the CP's key whose config breaks the schema
 *                           (body { kind: "document": routes not a list | "entity": a route with
 *                           paths [42] }), one version above the newest
 *   POST /oversize          a snapshot message of { bytes } bytes of noise (identity compression)
 *   GET  /events            what was done, in order
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync, gzipSync } from 'node:zlib';
import { cpMessage, type ControlPlaneMessage } from '@gatehouse/proto';
import { importJWK } from 'jose';
import {
  SNAPSHOT_ALG,
  sha256Hex,
  signEncodedSnapshot,
  signedSnapshotToProto,
  type SignedSnapshot,
  type SigningKey,
} from '@gatehouse/shared';
import type { PublishedSnapshot } from '../snapshot/index.js';
import type { SnapshotHook, SnapshotHookDeps } from '../cluster/test-hook.js';

/** Snapshots remembered for replays. */
const HISTORY = 16;

interface HookEvent {
  action: string;
  at: number;
  version: string;
  hash: string;
  nodes: string[];
}

export async function startSnapshotHook(
  listen: { host: string; port: number },
  deps: SnapshotHookDeps,
): Promise<SnapshotHook> {
  const log = deps.logger.child({ component: 'test-snapshot-hook' });
  const history: SignedSnapshot[] = [];
  const writers = new Map<string, (m: ControlPlaneMessage) => void>();
  const events: HookEvent[] = [];
  let tamperLeft = 0;
  let replayOnHello = false;

  const onSlice = (_key: string, p: PublishedSnapshot) => {
    const s = p.snapshot;
    const last = history[history.length - 1];
    if (last?.hash === s.hash) history[history.length - 1] = s;
    else history.push(s);
    if (history.length > HISTORY) history.shift();
  };
  deps.publisher.on('slice', onSlice);

  const record = (action: string, at: number, version: bigint, hash: string, nodes: string[]): HookEvent => {
    const e = { action, at, version: version.toString(), hash, nodes };
    events.push(e);
    log.warn(e, 'test snapshot hook wrote a hostile message');
    return e;
  };

  const broadcast = (action: string, snap: SignedSnapshot): HookEvent => {
    const m = cpMessage({ case: 'snapshot', value: signedSnapshotToProto(snap) });
    const at = Date.now();
    for (const write of writers.values()) write(m);
    return record(action, at, snap.version, snap.hash, [...writers.keys()]);
  };

  const previous = (): SignedSnapshot => {
    if (history.length < 2) throw new Error('no older snapshot was published yet');
    return history[history.length - 2]!;
  };

  const bytesOf = (s: SignedSnapshot): Buffer =>
    s.compression === 'gzip' ? gunzipSync(s.config) : Buffer.from(s.config);

  const newest = (): SignedSnapshot => {
    const s = history[history.length - 1];
    if (!s) throw new Error('no snapshot was published yet');
    return s;
  };

  /**
   * The newest config changed by `change` (a route added from the first one), signed with `key`
   * one version above it; without `change`, the newest config as it is, at its version.
   */
  const signed = async (
    key: SigningKey,
    change?: (config: Record<string, unknown>, route: Record<string, unknown>) => void,
  ): Promise<SignedSnapshot> => {
    const base = newest();
    const config = JSON.parse(bytesOf(base).toString('utf8')) as Record<string, unknown>;
    if (change) change(config, { ...(config.routes as Record<string, unknown>[])[0] });
    const bytes = change ? Buffer.from(JSON.stringify(config)) : bytesOf(base);
    return signEncodedSnapshot({
      bytes,
      hash: sha256Hex(bytes),
      version: change ? base.version + 1n : base.version,
      cpId: deps.cpId,
      key,
    });
  };

  /** Adds a route (a copy of the first, at `path`) with `fields` over it. */
  const addRoute =
    (path: string, fields: Record<string, unknown> = {}) =>
    (config: Record<string, unknown>, route: Record<string, unknown>) => {
      const id = `00000000-0000-4000-8000-${sha256Hex(Buffer.from(path)).slice(0, 12)}`;
      (config.routes as unknown[]).push({ ...route, id, name: path.slice(1), paths: [path], ...fields });
    };

  const tap = {
    outgoing(nodeId: string, m: ControlPlaneMessage): ControlPlaneMessage {
      const msg = m.message;
      if (tamperLeft === 0 || (msg.case !== 'snapshot' && msg.case !== 'snapshotDelta')) return m;
      tamperLeft--;
      const body = msg.case === 'snapshot' ? msg.value.config : msg.value.ops;
      const gzip = msg.value.compression === 'gzip';
      const plain = Buffer.from(gzip ? gunzipSync(body) : body);
      const at = plain.length >> 1;
      plain[at] = plain[at]! ^ 0x01;
      const flipped = gzip ? gzipSync(plain) : plain;
      record(`tamper-${msg.case}`, Date.now(), msg.value.version, msg.value.hash, [nodeId]);
      return msg.case === 'snapshot'
        ? cpMessage({ case: 'snapshot', value: { ...msg.value, config: flipped } })
        : cpMessage({ case: 'snapshotDelta', value: { ...msg.value, ops: flipped } });
    },
    ready(nodeId: string, write: (m: ControlPlaneMessage) => void): void {
      writers.set(nodeId, write);
      if (replayOnHello) {
        replayOnHello = false;
        const old = previous();
        const at = Date.now();
        write(cpMessage({ case: 'snapshot', value: signedSnapshotToProto(old) }));
        record('replay-on-hello', at, old.version, old.hash, [nodeId]);
      }
    },
  };

  const routes: Record<string, (body: Record<string, unknown>) => Promise<unknown>> = {
    'POST /tamper-next': async (body) => {
      const count = body.count === undefined ? 1 : Number(body.count);
      if (!Number.isSafeInteger(count) || count < 1) throw new Error('body.count must be a positive integer');
      tamperLeft = count;
      return { armed: 'tamper', count };
    },
    'POST /sign': async (body) => {
      const jwk = body.jwk as { kid?: string } & Record<string, unknown>;
      if (typeof jwk?.kid !== 'string') throw new Error('body.jwk must be a private JWK with a kid');
      const key: SigningKey = {
        kid: jwk.kid,
        key: await importJWK(jwk, SNAPSHOT_ALG),
        ...(typeof body.certificate === 'string' ? { certificate: body.certificate } : {}),
        ...(typeof body.revocations === 'string' ? { revocations: body.revocations } : {}),
      };
      const path = typeof body.path === 'string' ? body.path : null;
      return broadcast(`sign-${key.kid}`, await signed(key, path === null ? undefined : addRoute(path)));
    },
    'POST /replay': async () => broadcast('replay', previous()),
    'POST /replay-on-hello': async () => {
      const old = previous();
      replayOnHello = true;
      return { armed: 'replay-on-hello', version: old.version.toString(), hash: old.hash };
    },
    'POST /invalid': async (body) => {
      const kind = String(body.kind);
      const change =
        kind === 'document'
          ? (config: Record<string, unknown>) => void (config.routes = 'not a list')
          : addRoute('/f13-invalid', { paths: [42], protocols: ['gopher'] });
      return broadcast(`invalid-${kind}`, await signed(deps.key, change));
    },
    'POST /oversize': async (body) => {
      const size = Number(body.bytes);
      if (!Number.isSafeInteger(size) || size <= 0) throw new Error('body.bytes must be a positive integer');
      const base = newest();
      const snap = {
        ...base,
        version: base.version + 1n,
        hash: 'f'.repeat(64),
        config: randomBytes(size),
        compression: 'identity' as const,
        uncompressedSize: size,
      };
      return broadcast('oversize', snap);
    },
    'GET /events': async () => events,
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const route = routes[`${req.method} ${(req.url ?? '').split('?')[0]}`];
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (!route) return reply(404, { message: 'no such hook action' });
      let body: Record<string, unknown> = {};
      try {
        if (chunks.length > 0)
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        return reply(400, { message: 'body is not JSON' });
      }
      route(body).then(
        (out) => reply(200, out),
        (e: unknown) => reply(409, { message: (e as Error).message }),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  const address = `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  log.warn({ address }, 'TEST SNAPSHOT HOOK ENABLED: this control plane writes hostile snapshots on request');
  return {
    tap,
    address,
    close: async () => {
      deps.publisher.off('slice', onSlice);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

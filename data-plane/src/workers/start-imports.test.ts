/**
 * What a data plane process loads before it serves (docs/dev/architecture.md, "Start time"): the
 * static imports of the worker entry and of the `gatehouse dp` entry, followed through this
 * package's sources, never reach a package that only some configurations or only the control
 * plane stream need. Those load on first use (`import()`, or a require when the first Redis
 * connection opens), so a restart from the cache (chaos F6) does not wait for them.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = join(dirname(fileURLToPath(import.meta.url)), '..');
/** `@gatehouse/shared/<path>` is `shared/src/<path>.ts` (its package.json's `./*` export). */
const SHARED_SRC = join(SRC, '..', '..', 'shared', 'src');
const SHARED = '@gatehouse/shared';
/** `@gatehouse/proto/<path>` is `proto/<path>.ts` (`src/…`, or `gen/…` for the generated messages). */
const PROTO_ROOT = join(SRC, '..', '..', 'proto');
const PROTO = '@gatehouse/proto';

/** Value imports and re-exports (`import type` / `export type` are erased, so not followed). */
const IMPORT = /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/g;

/**
 * Every package the static imports from `entry` reach, with the chain of files that reaches it.
 * The walk follows `@gatehouse/shared/<path>` and `@gatehouse/proto/<path>` into those packages'
 * sources; their bare names (the barrels, which load every member: gRPC for `@gatehouse/proto`)
 * are reported as packages.
 */
function packagesReached(entry: string): Map<string, string> {
  const parent = new Map<string, string | null>([[entry, null]]);
  const reached = new Map<string, string>();
  const chain = (file: string): string => {
    const files: string[] = [];
    for (let f: string | null | undefined = file; f; f = parent.get(f)) files.unshift(relative(SRC, f));
    return files.join(' > ');
  };
  const queue = [entry];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    for (const [, , typeOnly, spec] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      if (typeOnly || spec === undefined || spec.startsWith('node:')) continue;
      const local = spec.startsWith('.')
        ? join(dirname(file), spec.replace(/\.js$/, '.ts'))
        : spec.startsWith(`${SHARED}/`)
          ? join(SHARED_SRC, `${spec.slice(SHARED.length + 1)}.ts`)
          : spec.startsWith(`${PROTO}/`)
            ? join(PROTO_ROOT, `${spec.slice(PROTO.length + 1)}.ts`)
            : null;
      if (local !== null) {
        if (!parent.has(local)) {
          parent.set(local, file);
          queue.push(local);
        }
        continue;
      }
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
      if (!reached.has(name)) reached.set(name, chain(file));
    }
  }
  return reached;
}

/** Loaded when a configuration or the environment asks for them, never at start. */
const ON_USE = [
  'ioredis', // the redis rate-limiting policy
  '@opentelemetry/sdk-trace', // tracing (OTEL_* environment), the opentelemetry plugin
  '@opentelemetry/exporter-trace-otlp-proto',
  '@opentelemetry/resources',
  '@opentelemetry/core',
];
/** The control plane stream and the JetStream cold start: after the cached snapshot is served. */
const AFTER_THE_CACHE = ['@grpc/grpc-js', '@nats-io/kv'];
/**
 * The barrels load every member (the shared one: the NATS client, yaml, protobuf-es and the
 * generated messages, jose; the proto one: gRPC), so start paths import subpaths
 * (`@gatehouse/shared/logger`, `@gatehouse/proto/gen/gatehouse/v1/cluster_pb`…); the NATS client
 * loads on the first connection (--nats-url), yaml in DB-less mode.
 */
const NEVER_AT_START = ['@gatehouse/shared', '@gatehouse/proto', '@nats-io/transport-node', 'yaml'];
/** The worker parses what its primary verified: no signature code. */
const PRIMARY_ONLY = ['jose'];
/** The primary compiles the node part of a config (pool keys: proxy/pool-spec.ts) and never proxies. */
const WORKER_ONLY = ['undici'];

const offending = (reached: Map<string, string>, names: string[]) =>
  names.filter((n) => reached.has(n)).map((n) => `${n} via ${reached.get(n)}`);

describe('data plane start imports', () => {
  it('a worker imports none of the packages only some configurations use, no barrel, no signature code', () => {
    const reached = packagesReached(join(SRC, 'workers', 'worker-main.ts'));
    expect(reached.has('undici')).toBe(true); // the walk does follow the worker's imports
    expect(offending(reached, [...ON_USE, ...AFTER_THE_CACHE, ...NEVER_AT_START, ...PRIMARY_ONLY])).toEqual(
      [],
    );
  });

  it('the primary loads gRPC, the JetStream reader, the NATS client and yaml only once needed, no barrel, no undici', () => {
    const reached = packagesReached(join(SRC, 'cli.ts'));
    expect(reached.has('prom-client')).toBe(true);
    expect(reached.has('jose')).toBe(true); // the walk does follow shared's subpaths
    expect(offending(reached, [...ON_USE, ...AFTER_THE_CACHE, ...NEVER_AT_START, ...WORKER_ONLY])).toEqual(
      [],
    );
  });
});

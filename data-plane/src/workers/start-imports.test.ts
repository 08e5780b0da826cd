/**
 * What a data plane process loads before it serves (docs/dev/architecture.md, "Start time"): the
 * static imports of the worker entry and of the `gatehouse dp` entry, followed through this
 * package's sources, never reach a package that only some configurations or only the control
 * plane stream need. Those load on first use (`import()`, or a require when the first Redis
 * connection opens), so a restart from the cache (chaos F6) does not wait for them.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { packagesReached as walk } from '@gatehouse/shared/dev/static-imports';

const SRC = join(dirname(fileURLToPath(import.meta.url)), '..');
/**
 * The walk follows `@gatehouse/shared/<path>` (shared/src) and `@gatehouse/proto/<path>` (proto:
 * `src/…`, or `gen/…` for the generated messages) into those packages' sources; their bare names
 * (the barrels, which load every member: gRPC for `@gatehouse/proto`) are reported as packages.
 */
const WALK = {
  base: SRC,
  sources: {
    '@gatehouse/shared': join(SRC, '..', '..', 'shared', 'src'),
    '@gatehouse/proto': join(SRC, '..', '..', 'proto'),
  },
};
const packagesReached = (entry: string): Map<string, string> => walk(entry, WALK);

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

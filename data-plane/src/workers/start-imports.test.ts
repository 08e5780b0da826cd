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

/** Value imports and re-exports (`import type` / `export type` are erased, so not followed). */
const IMPORT = /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/g;

/** Every package the static imports from `entry` reach, with the chain of files that reaches it. */
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
      if (spec.startsWith('.')) {
        const target = join(dirname(file), spec.replace(/\.js$/, '.ts'));
        if (!parent.has(target)) {
          parent.set(target, file);
          queue.push(target);
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

const offending = (reached: Map<string, string>, names: string[]) =>
  names.filter((n) => reached.has(n)).map((n) => `${n} via ${reached.get(n)}`);

describe('data plane start imports', () => {
  it('a worker imports none of the packages only some configurations use', () => {
    const reached = packagesReached(join(SRC, 'workers', 'worker-main.ts'));
    expect(reached.has('undici')).toBe(true); // the walk does follow the worker's imports
    expect(offending(reached, [...ON_USE, ...AFTER_THE_CACHE])).toEqual([]);
  });

  it('the primary loads gRPC and the JetStream reader only once it serves the cache', () => {
    const reached = packagesReached(join(SRC, 'cli.ts'));
    expect(reached.has('prom-client')).toBe(true);
    expect(offending(reached, [...ON_USE, ...AFTER_THE_CACHE])).toEqual([]);
  });
});

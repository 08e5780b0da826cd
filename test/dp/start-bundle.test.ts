/**
 * The data plane's start bundle (data-plane/dist/start, built by data-plane/scripts/bundle-start.mjs;
 * `gatehouse dp` runs it): what start-imports.test.ts says of the sources holds for the bundle
 * too. The chunks a process loads before it serves (the static imports from `cli.js` or
 * `worker-main.js`) hold none of the packages only some configurations or the control plane stream
 * need (those sit in chunks loaded by `import()`), the worker entry WorkerPool forks is there, and
 * each package left to node's `import()` resolves from the bundle's folder.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../e2e/helpers/processes.js';

const START = join(ROOT, 'data-plane', 'dist', 'start');

/** Static imports of a bundle file (`import … from "./chunk-X.js"`, `import "./chunk-X.js"`). */
const STATIC = /(?:^|\n)(?:import|export)\s(?:[^;"]*?\sfrom\s*)?"(\.\/[^"]+)"/g;
/** esbuild names each bundled module in a comment: `// ../node_modules/.pnpm/x/node_modules/<pkg>/…`. */
const MODULE = /\n\/\/ \S*node_modules\/((?:@[^/\s]+\/)?[^/\s]+)\//g;

/** The files `entry` loads before it runs (its static import closure), as one text. */
function startText(entry: string): string {
  const seen = new Set([entry]);
  let all = '';
  for (const file of seen) {
    const text = readFileSync(join(START, file), 'utf8');
    all += text;
    for (const [, spec] of text.matchAll(STATIC)) seen.add(spec!.slice(2));
  }
  return all;
}

/** The packages in the files `entry` loads before it runs. */
function packagesAtStart(entry: string): Set<string> {
  return new Set([...startText(entry).matchAll(MODULE)].map(([, pkg]) => pkg!));
}

/** Never in a chunk loaded at start (start-imports.test.ts says why for each). */
const NOT_AT_START = [
  'ioredis',
  '@opentelemetry/sdk-trace',
  '@opentelemetry/exporter-trace-otlp-proto',
  '@grpc/grpc-js',
  '@nats-io/kv',
  '@nats-io/jetstream',
  '@nats-io/transport-node',
  'yaml',
  'ldapts',
];

describe('data plane start bundle', () => {
  it('the worker loads undici and pino at start, nothing only some configurations or the stream need, no signature code', () => {
    const packages = packagesAtStart('worker-main.js');
    expect(packages).toContain('undici'); // the walk does see the bundled packages
    expect(packages).toContain('pino');
    expect([...NOT_AT_START, 'jose'].filter((p) => packages.has(p))).toEqual([]);
  });

  it("the worker loads undici's Pool, not its index (fetch, WebSocket, node's own undici: proxy/undici-parts.ts)", () => {
    const text = startText('worker-main.js');
    expect(text).toContain('node_modules/undici/lib/dispatcher/pool.js');
    expect(text).not.toContain('node_modules/undici/index.js');
  });

  it('the primary loads prom-client and jose at start, not gRPC, the JetStream reader, yaml or undici', () => {
    const packages = packagesAtStart('cli.js');
    expect(packages).toContain('prom-client');
    expect(packages).toContain('jose');
    expect([...NOT_AT_START, 'undici'].filter((p) => packages.has(p))).toEqual([]);
  });

  it('what loads later is in the bundle folder: gRPC in a chunk, the worker entry WorkerPool forks', () => {
    const all = readdirSync(START).filter((f) => f.endsWith('.js'));
    const grpc = all.filter((f) =>
      readFileSync(join(START, f), 'utf8').includes('node_modules/@grpc/grpc-js/'),
    );
    expect(grpc.length).toBeGreaterThan(0);
    expect(existsSync(join(START, 'worker-main.js'))).toBe(true);
  });

  it('each package left to import() resolves from the bundle folder', () => {
    const require = createRequire(join(START, 'cli.js'));
    const bare = new Set<string>();
    for (const f of readdirSync(START).filter((n) => n.endsWith('.js')))
      for (const [, spec] of readFileSync(join(START, f), 'utf8').matchAll(/\bimport\("([^."][^"]*)"\)/g))
        if (!spec!.startsWith('node:')) bare.add(spec!);
    expect(bare).toContain('@nats-io/transport-node'); // a CommonJS package: named exports from node
    for (const spec of bare) expect(() => require.resolve(spec), spec).not.toThrow();
  });
});

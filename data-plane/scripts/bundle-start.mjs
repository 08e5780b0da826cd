// Bundles the data plane's two start entry points, the primary (`cli.js`) and the worker
// (`workers/worker-main.js`), from the compiled dist into dist/start/: one file each plus the
// chunks they share. Node's ESM loader resolves, reads and compiles each module apart (a worker
// loaded some 400 files), which was most of a DP's start (chaos F6, docs/dev/architecture.md
// "Start time"). `gatehouse dp` runs dist/start/cli.js; the unbundled dist stays the package's
// library entry points (control plane, tests, tools).
//
// What loads on demand stays on demand: each `import()` (plugin handlers, gRPC, the JetStream
// reader, the OpenTelemetry SDK…) becomes a chunk loaded when called (code splitting). Every
// chunk sits in dist/start/, so `new URL('./worker-main.js', import.meta.url)` (WorkerPool's
// worker entry) finds the bundled worker. ajv and ioredis load through createRequire, so from
// node_modules as before; the bundled CommonJS packages reach node's built-ins through the
// `require` the banner makes.
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'start');
rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { cli: 'dist/cli.js', 'worker-main': 'dist/workers/worker-main.js' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunk-[hash]',
  // Maps back to the TypeScript sources through dist's own maps; the primary runs with
  // --enable-source-maps. No sources inside: file and line are what a stack trace needs.
  sourcemap: 'linked',
  sourcesContent: false,
  banner: {
    js: "import { createRequire as __gatehouseRequire } from 'node:module'; const require = __gatehouseRequire(import.meta.url);",
  },
  logLevel: 'warning',
});

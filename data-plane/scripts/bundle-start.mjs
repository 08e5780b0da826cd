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
//
// A package loaded with `import()` stays outside the bundle, loaded by node from node_modules:
// esbuild hands a split-off CommonJS module to `import()` as its default export only (the NATS
// client's `connect` was undefined), where node gives the named exports too. The build fails if
// such a package is also imported statically (two copies of it) or does not resolve from
// dist/start (a dependency of another workspace package only).
import { rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'start');

/** `@scope/name` or `name` of a bare specifier; null for a relative, absolute or built-in one. */
function packageOf(spec) {
  if (/^(\.|\/|node:)/.test(spec) || builtinModules.includes(spec)) return null;
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Packages reached with import() stay external; see above. */
const dynamicPackagesExternal = {
  name: 'dynamic-packages-external',
  setup(b) {
    const dynamic = new Map(); // package -> a specifier that imported it
    const bundled = new Set();
    b.onResolve({ filter: /.*/ }, async (args) => {
      const pkg = packageOf(args.path);
      if (pkg === null || args.pluginData === 'check' || pkg.startsWith('@gatehouse/')) return undefined;
      if (args.kind !== 'dynamic-import') {
        bundled.add(pkg);
        return undefined;
      }
      // From dist/start, node looks in data-plane/node_modules (dist has none), as from root.
      const there = await b.resolve(args.path, {
        kind: 'import-statement',
        resolveDir: root,
        pluginData: 'check',
      });
      if (there.errors.length)
        return { errors: [{ text: `${args.path}, loaded with import(), does not resolve from dist/start` }] };
      dynamic.set(pkg, args.path);
      return { path: args.path, external: true };
    });
    b.onEnd((result) => {
      for (const pkg of dynamic.keys())
        if (bundled.has(pkg))
          result.errors.push({ text: `${pkg} is loaded with import() and imported statically: two copies` });
    });
  },
};
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
  plugins: [dynamicPackagesExternal],
  logLevel: 'warning',
});

/**
 * `@gatehouse/data-plane/schemas` is what the control plane imports: it must serve every bundled
 * plugin's spec without loading a handler. Proven on the built package, resolved from the
 * control plane's folder as the CP resolves it, in a fresh node with a module-load hook.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BUNDLED_SPECS, loadPluginSchemas } from './schemas.js';
import { BUNDLED_PLUGINS, loadPluginRegistry } from './registry.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');

/** Records the URL of every module node loads (hooks run on their own thread: they append to a file). */
const HOOKS = `
import { appendFileSync } from 'node:fs';
let log;
export function initialize(data) { log = data.log; }
export async function load(url, context, next) {
  appendFileSync(log, url + '\\n');
  return next(url, context);
}`;

const SCRIPT = `
import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(process.env.HOOKS), { data: { log: process.env.LOG } });
const m = await import('@gatehouse/data-plane/schemas');
const catalog = await m.loadPluginSchemas();
console.log(JSON.stringify(catalog.list().map((p) => p.name)));`;

describe('the schemas entry', () => {
  it('loads every bundled spec and no handler module (built package, from the control plane)', () => {
    const built = path.join(root, 'data-plane/dist/plugins/schemas.js');
    expect(existsSync(built), `${built} missing: build data-plane first`).toBe(true);
    const dir = mkdtempSync(path.join(tmpdir(), 'gh-schemas-'));
    const log = path.join(dir, 'loaded.txt');
    try {
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', SCRIPT], {
        cwd: path.join(root, 'control-plane'),
        env: { ...process.env, HOOKS, LOG: log },
        encoding: 'utf8',
      });
      const names = JSON.parse(out) as string[];
      expect(names).toEqual(BUNDLED_SPECS.map((s) => s.name).sort());
      const loaded = readFileSync(log, 'utf8')
        .split('\n')
        .filter((u) => u.includes('/data-plane/dist/'))
        .map((u) => u.slice(u.indexOf('/data-plane/dist/') + '/data-plane/dist/'.length));
      expect(loaded).toContain('plugins/schemas.js');
      expect(loaded).toContain('plugins/key-auth/schema.js');
      const handlers = loaded.filter((f) => f.endsWith('/plugin.js') || f.startsWith('plugins/runtime/'));
      expect(handlers).toEqual([]);
      expect(loaded.filter((f) => !f.startsWith('plugins/') && !f.startsWith('net/'))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('validates and lists plugins exactly as the data plane registry does', async () => {
    const [catalog, registry] = await Promise.all([loadPluginSchemas(), loadPluginRegistry()]);
    expect(catalog.list()).toEqual(
      registry.list().map(({ name, version, priority }) => ({ name, version, priority })),
    );
    expect(catalog.validateConfig('key-auth', {})).toEqual(registry.validateConfig('key-auth', {}));
    expect(catalog.describe('cors')).toEqual(registry.describe('cors'));
  });

  it('is the spec each bundled definition was built from', async () => {
    for (const spec of BUNDLED_SPECS) {
      const def = (await BUNDLED_PLUGINS[spec.name]()).default;
      expect(def.schema).toBe(spec.schema);
      expect([def.name, def.version, def.priority, def.noConsumer, def.protocols]).toEqual([
        spec.name,
        spec.version,
        spec.priority,
        spec.noConsumer,
        spec.protocols,
      ]);
    }
  });
});

/**
 * Loads custom plugins from directories (`--plugins-dir`, on the CP for schema validation and on
 * the DP for execution). Each entry of a directory is either a folder holding `index.js`,
 * `index.mjs` or `plugin.js` / `plugin.mjs`, or a `.js` / `.mjs` file; its default export (or
 * export named `plugin`) is a `definePlugin(...)` definition. TypeScript plugins are compiled to
 * JavaScript first (see docs/plugins.md).
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { definePlugin, type AnyPluginDefinition } from './api.js';
import { PluginErrors } from './errors.js';

const ENTRY_FILES = ['index.js', 'index.mjs', 'plugin.js', 'plugin.mjs'];

async function entryOf(p: string): Promise<string | null> {
  const s = await stat(p);
  if (s.isFile()) return /\.(m?js)$/.test(p) ? p : null;
  if (!s.isDirectory()) return null;
  for (const f of ENTRY_FILES) {
    const candidate = path.join(p, f);
    try {
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // next candidate
    }
  }
  return null;
}

export async function loadCustomPlugins(dirs: readonly string[]): Promise<AnyPluginDefinition[]> {
  const out: AnyPluginDefinition[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = (await readdir(dir)).sort();
    } catch (e) {
      throw PluginErrors.loadFailed(
        `plugins directory ${dir} cannot be read: ${(e as Error).message}`,
        { dir },
        { cause: e },
      );
    }
    for (const name of names) {
      if (name.startsWith('.') || name === 'node_modules') continue;
      const full = path.join(dir, name);
      const entry = await entryOf(full);
      if (entry === null) continue;
      let mod: Record<string, unknown>;
      try {
        mod = (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
      } catch (e) {
        throw PluginErrors.loadFailed(
          `custom plugin ${entry} failed to load: ${(e as Error).message}`,
          { path: entry },
          { cause: e },
        );
      }
      const def = (mod.default ?? mod.plugin) as AnyPluginDefinition | undefined;
      if (def === undefined || typeof def !== 'object') {
        throw PluginErrors.loadFailed(`custom plugin ${entry} has no default export`, { path: entry });
      }
      try {
        out.push(definePlugin(def));
      } catch (e) {
        throw PluginErrors.loadFailed(
          `custom plugin ${entry}: ${(e as Error).message}`,
          { path: entry },
          { cause: e },
        );
      }
    }
  }
  return out;
}

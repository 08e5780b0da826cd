/**
 * The plugin registry: bundled plugins plus custom plugins from `customDirs`. The CP uses it to
 * validate plugin configs at write time and to describe schemas; the DP to run them; both report
 * `pluginInfos()` (the DP in its Hello).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { schema, schemaViolation, type PluginProtocol } from '@gatehouse/shared';
import { PHASES, type AnyPluginDefinition, type PhaseName } from './api.js';
import { loadCustomPlugins } from './custom-loader.js';
import { PluginErrors } from './errors.js';

/**
 * Bundled plugins: each is `./<name>/plugin.js` with the definition as its default export.
 * A name whose module is not built into this package is left out (the list is the contract
 * between the plugin folders and the registry).
 */
export const BUNDLED_PLUGINS = [
  'key-auth',
  'basic-auth',
  'hmac-auth',
  'jwt',
  'openid-connect',
  'oauth2-introspection',
  'acl',
  'ip-restriction',
  'cors',
  'bot-detection',
  'request-size-limiting',
  'request-termination',
] as const;

export interface PluginSummary {
  name: string;
  version: string;
  priority: number;
  phases: PhaseName[];
}

export interface PluginScope {
  consumer?: { id: string } | null;
  consumer_group?: { id: string } | null;
  protocols?: readonly string[] | null;
}

const DEFAULT_PROTOCOLS: readonly PluginProtocol[] = ['grpc', 'grpcs', 'http', 'https'];

export class PluginRegistry {
  private readonly byName = new Map<string, AnyPluginDefinition>();
  private readonly customNames = new Set<string>();

  constructor(bundled: readonly AnyPluginDefinition[], custom: readonly AnyPluginDefinition[] = []) {
    for (const def of bundled) this.byName.set(def.name, def);
    for (const def of custom) {
      if (this.byName.has(def.name)) {
        throw PluginErrors.loadFailed(`custom plugin '${def.name}' clashes with a plugin of the same name`, {
          name: def.name,
        });
      }
      this.byName.set(def.name, def);
      this.customNames.add(def.name);
    }
  }

  get(name: string): AnyPluginDefinition | undefined {
    return this.byName.get(name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  isCustom(name: string): boolean {
    return this.customNames.has(name);
  }

  /** Sorted by name. */
  list(): PluginSummary[] {
    return [...this.byName.values()]
      .map((d) => ({
        name: d.name,
        version: d.version,
        priority: d.priority,
        phases: PHASES.filter((p) => typeof d[p] === 'function'),
      }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** What a DP announces in its Hello. */
  pluginInfos(): { name: string; version: string }[] {
    return this.list().map(({ name, version }) => ({ name, version }));
  }

  /**
   * Validates a plugin's config (defaults filled in) and, when given, its scope (Kong's
   * `no_consumer`, allowed protocols). Throws GH_ERR_ENTITY_SCHEMA_VIOLATION with Kong's fields
   * (`config.<field>`, `name` for an unknown plugin).
   */
  validateConfig(name: string, config: unknown, scope?: PluginScope): Record<string, unknown> {
    const def = this.byName.get(name);
    if (def === undefined) {
      throw schemaViolation({
        name: `plugin '${name}' not enabled; add it to the 'plugins' configuration property`,
      });
    }
    if (scope !== undefined) {
      const fields: Record<string, string | (string | null)[]> = {};
      if (def.noConsumer === true) {
        if (scope.consumer != null) fields.consumer = 'value must be null';
        if (scope.consumer_group != null) fields.consumer_group = 'value must be null';
      }
      const allowed = def.protocols ?? DEFAULT_PROTOCOLS;
      if (scope.protocols != null) {
        const errs = scope.protocols.map((p) =>
          allowed.includes(p as PluginProtocol) ? null : `expected one of: ${allowed.join(', ')}`,
        );
        if (errs.some((e) => e !== null)) fields.protocols = errs;
      }
      const checked = schema.check(def.schema, config ?? {});
      if (checked.errors !== null || Object.keys(fields).length > 0) {
        throw schemaViolation(checked.errors === null ? fields : { ...fields, config: checked.errors });
      }
      return checked.value as Record<string, unknown>;
    }
    return schema.validate(def.schema, config ?? {}, { path: ['config'] }).value;
  }

  /** Kong's JSON for `GET /schemas/plugins/{name}`, or undefined for an unknown name. */
  describe(name: string): Record<string, unknown> | undefined {
    const def = this.byName.get(name);
    if (def === undefined) return undefined;
    const protocols = def.protocols ?? DEFAULT_PROTOCOLS;
    const fields: Record<string, unknown>[] = [];
    if (def.noConsumer === true) {
      fields.push({ consumer: { type: 'foreign', reference: 'consumers', eq: null } });
      fields.push({ consumer_group: { type: 'foreign', reference: 'consumer_groups', eq: null } });
    }
    fields.push({
      protocols: {
        type: 'set',
        required: true,
        default: [...protocols],
        elements: { type: 'string', one_of: [...protocols] },
      },
    });
    fields.push({ config: schema.describe({ ...def.schema, required: true }) });
    return { fields };
  }

  /** Protocols a plugin may run on (Kong's `protocols` typedef of the plugin). */
  protocolsOf(name: string): readonly PluginProtocol[] {
    return this.byName.get(name)?.protocols ?? DEFAULT_PROTOCOLS;
  }
}

/** The module file of a bundled plugin: built `.js`, or `.ts` when running from source (tests). */
function bundledModule(name: string): string | null {
  for (const ext of ['js', 'ts']) {
    const url = new URL(`./${name}/plugin.${ext}`, import.meta.url);
    if (existsSync(fileURLToPath(url))) return url.href;
  }
  return null;
}

async function loadBundled(): Promise<AnyPluginDefinition[]> {
  const out: AnyPluginDefinition[] = [];
  for (const name of BUNDLED_PLUGINS) {
    const href = bundledModule(name);
    if (href === null) continue;
    let mod: { default?: AnyPluginDefinition };
    try {
      mod = (await import(/* @vite-ignore */ href)) as { default?: AnyPluginDefinition };
    } catch (e) {
      throw PluginErrors.loadFailed(
        `bundled plugin '${name}' failed to load: ${(e as Error).message}`,
        { name },
        { cause: e },
      );
    }
    if (mod.default === undefined) {
      throw PluginErrors.loadFailed(`bundled plugin '${name}' has no default export`, { name });
    }
    out.push(mod.default);
  }
  return out;
}

let bundledOnce: Promise<AnyPluginDefinition[]> | null = null;

/** Loads the bundled plugins (once per process) and the custom plugins of `customDirs`. */
export async function loadPluginRegistry(
  options: { customDirs?: readonly string[] } = {},
): Promise<PluginRegistry> {
  bundledOnce ??= loadBundled();
  const bundled = await bundledOnce;
  const custom = await loadCustomPlugins(options.customDirs ?? []);
  return new PluginRegistry(bundled, custom);
}

/**
 * The plugin registry of a data plane: the catalog (validation, description, Hello list) plus
 * each plugin's handlers. The bundled plugins are a static import map — a plugin folder that is
 * missing, or that `schemas.ts` does not list, is a build error, never a silently smaller list.
 * Custom plugins come from `--plugins-dir` (custom-loader.ts).
 *
 * Handlers load on demand in a data plane (`handlers: 'on-demand'`): the catalog needs only the
 * specs, and a worker loads the modules of the plugins a configuration uses before compiling it
 * (ProxyServer.prime). A worker serving no plugin never loads ldapts, ioredis, the OpenTelemetry
 * exporters and the rest, which is most of its start (docs/dev/architecture.md, "Start time").
 */
import { PHASES, type AnyPluginDefinition, type PhaseName, type PluginSpec } from './api.js';
import { PluginCatalog, type PluginSummary } from './catalog.js';
import { loadCustomPlugins } from './custom-loader.js';
import { BUNDLED_SPECS, type BundledPluginName } from './schemas.js';
/**
 * Every bundled plugin's module by name: exactly the names of `BUNDLED_SPECS`, each module's
 * default export the definition of that name. Static `import()` expressions, so a missing folder
 * is a build error; a module is loaded only when a configuration uses the plugin (or `loadAll`).
 */
export const BUNDLED_PLUGINS: {
  readonly [N in BundledPluginName]: () => Promise<{
    readonly default: AnyPluginDefinition & { readonly name: N };
  }>;
} = {
  session: () => import('./session/plugin.js'),
  'key-auth': () => import('./key-auth/plugin.js'),
  'mtls-auth': () => import('./mtls-auth/plugin.js'),
  'basic-auth': () => import('./basic-auth/plugin.js'),
  'ldap-auth': () => import('./ldap-auth/plugin.js'),
  'hmac-auth': () => import('./hmac-auth/plugin.js'),
  jwt: () => import('./jwt/plugin.js'),
  'openid-connect': () => import('./openid-connect/plugin.js'),
  oauth2: () => import('./oauth2/plugin.js'),
  'oauth2-introspection': () => import('./oauth2-introspection/plugin.js'),
  acl: () => import('./acl/plugin.js'),
  'ip-restriction': () => import('./ip-restriction/plugin.js'),
  cors: () => import('./cors/plugin.js'),
  'bot-detection': () => import('./bot-detection/plugin.js'),
  waf: () => import('./waf/plugin.js'),
  'request-size-limiting': () => import('./request-size-limiting/plugin.js'),
  'request-termination': () => import('./request-termination/plugin.js'),
  'grpc-web': () => import('./grpc-web/plugin.js'),
  'response-aggregation': () => import('./response-aggregation/plugin.js'),
  'grpc-gateway': () => import('./grpc-gateway/plugin.js'),
  canary: () => import('./canary/plugin.js'),
  'correlation-id': () => import('./correlation-id/plugin.js'),
  'request-transformer': () => import('./request-transformer/plugin.js'),
  'response-transformer': () => import('./response-transformer/plugin.js'),
  redirect: () => import('./redirect/plugin.js'),
  'request-validator': () => import('./request-validator/plugin.js'),
  'data-masking': () => import('./data-masking/plugin.js'),
  'rate-limiting': () => import('./rate-limiting/plugin.js'),
  'response-ratelimiting': () => import('./response-ratelimiting/plugin.js'),
  'proxy-cache': () => import('./proxy-cache/plugin.js'),
  prometheus: () => import('./prometheus/plugin.js'),
  'http-log': () => import('./http-log/plugin.js'),
  'file-log': () => import('./file-log/plugin.js'),
  'tcp-log': () => import('./tcp-log/plugin.js'),
  'udp-log': () => import('./udp-log/plugin.js'),
  syslog: () => import('./syslog/plugin.js'),
  opentelemetry: () => import('./opentelemetry/plugin.js'),
  zipkin: () => import('./zipkin/plugin.js'),
};

export interface PluginDescription extends PluginSummary {
  /** The phases the plugin has a handler for. */
  phases: PhaseName[];
}

function isBundled(name: string): name is BundledPluginName {
  return Object.hasOwn(BUNDLED_PLUGINS, name);
}

export class PluginRegistry extends PluginCatalog<PluginSpec> {
  /** The definitions (spec and handlers) loaded so far, by name: every custom plugin's from the start. */
  private readonly definitions = new Map<string, AnyPluginDefinition>();

  constructor(custom: readonly AnyPluginDefinition[] = []) {
    super(BUNDLED_SPECS, custom);
    for (const def of custom) this.definitions.set(def.name, def);
  }

  /**
   * The plugin's definition with its handlers, or undefined when no plugin has that name. A
   * bundled plugin must have been loaded first ({@link load}); compiling without it is a bug,
   * reported as such rather than as a missing plugin.
   */
  get(name: string): AnyPluginDefinition | undefined {
    const def = this.definitions.get(name);
    if (def !== undefined || !this.has(name)) return def;
    throw new Error(`plugin '${name}' is known but its handlers were not loaded (PluginRegistry.load)`);
  }

  /** The plugin's spec (name, version, priority, config schema), loaded or not. */
  spec(name: string): PluginSpec | undefined {
    return this.byName.get(name);
  }

  /** Whether the handlers of `name` are loaded (custom plugins always are). */
  isLoaded(name: string): boolean {
    return this.definitions.has(name);
  }

  /** Loads the handlers of the bundled plugins among `names` (unknown names are left to the compile). */
  async load(names: Iterable<string>): Promise<void> {
    const pending: Promise<void>[] = [];
    for (const name of new Set(names)) {
      if (this.definitions.has(name) || !isBundled(name)) continue;
      pending.push(
        BUNDLED_PLUGINS[name]().then((m) => {
          this.definitions.set(name, m.default);
        }),
      );
    }
    await Promise.all(pending);
  }

  /** Loads every bundled plugin's handlers. */
  loadAll(): Promise<void> {
    return this.load(Object.keys(BUNDLED_PLUGINS));
  }

  /** Sorted by name, with the phases each plugin handles (of the plugins loaded; others: none). */
  override list(): PluginDescription[] {
    return super.list().map((p) => {
      const def = this.definitions.get(p.name);
      return {
        ...p,
        phases: def === undefined ? [] : PHASES.filter((phase) => typeof def[phase] === 'function'),
      };
    });
  }
}

export interface RegistryOptions {
  /** Folders of custom plugins (`--plugins-dir`); their modules load at once. */
  readonly customDirs?: readonly string[];
  /**
   * `all` (default) loads every bundled plugin's handlers now; `on-demand` loads none, and
   * {@link PluginRegistry.load} loads those a configuration uses (what a data plane does).
   */
  readonly handlers?: 'all' | 'on-demand';
}

/** The bundled plugins (in `BUNDLED_SPECS` order) and the custom plugins of `customDirs`. */
export async function loadPluginRegistry(options: RegistryOptions = {}): Promise<PluginRegistry> {
  const registry = new PluginRegistry(await loadCustomPlugins(options.customDirs ?? []));
  if (options.handlers !== 'on-demand') await registry.loadAll();
  return registry;
}

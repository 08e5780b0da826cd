import { validatePlugin } from '../entities/plugin.js';
import { ENTITY_RECORDS, type EntityKind } from '../entities/registry.js';

/** Validates one entity (id and references already resolved to `{ id }`); throws a schema violation. */
export type EntityValidator = (input: Record<string, unknown>) => Record<string, unknown>;

/** The plugin registry's part the resolver needs (structurally the data plane's PluginRegistry). */
export interface PluginSchemas {
  /** False for a plugin name the registry does not know. */
  has(name: string): boolean;
  /** Config with defaults filled; checks the scope (no_consumer, protocols); throws a schema violation. */
  validateConfig(
    name: string,
    config: unknown,
    scope?: { consumer?: unknown; consumer_group?: unknown; protocols?: readonly string[] | null },
  ): Record<string, unknown>;
  /**
   * The config with what the plugin generates when left out (Kong's auto fields, e.g. oauth2's
   * provision_key) filled in; anything else comes back as it is.
   */
  fillGenerated?(name: string, config: unknown): unknown;
}

/**
 * The config fields `plugins` generates for `name` when `config` leaves them out, and the config
 * with them filled (the resolver records them so an import keeps the stored values).
 */
export function generatedPluginFields(
  plugins: PluginSchemas | undefined,
  name: unknown,
  config: unknown,
): { config: unknown; fields: string[] } {
  if (plugins?.fillGenerated === undefined || typeof name !== 'string' || !plugins.has(name))
    return { config, fields: [] };
  const given = typeof config === 'object' && config !== null && !Array.isArray(config) ? config : {};
  const filled = plugins.fillGenerated(name, config ?? {});
  if (typeof filled !== 'object' || filled === null || Array.isArray(filled)) return { config, fields: [] };
  const before = given as Record<string, unknown>;
  const after = filled as Record<string, unknown>;
  const fields = Object.keys(after).filter((k) => after[k] !== before[k] && (before[k] ?? null) === null);
  return { config: fields.length ? filled : config, fields };
}

/** The shared entity validators (Kong 3.x rules and defaults), one per entity kind (the registry's). */
export function entityValidators(plugins?: PluginSchemas): Record<EntityKind, EntityValidator> {
  const validators = Object.fromEntries(
    ENTITY_RECORDS.map((r) => [r.kind, (input: unknown) => r.validate(input) as Record<string, unknown>]),
  ) as Record<EntityKind, EntityValidator>;
  validators.plugins = (input) =>
    validatePlugin(input, {
      validateConfig: plugins
        ? (name, config, scope) => plugins.validateConfig(name, config, scope)
        : undefined,
    });
  return validators;
}

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

import * as entities from '../entities/index.js';
import type { EntityKind } from './schema.js';

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

type AnyValidator = (input: unknown) => object;

/** The shared entity validators (Kong 3.x rules and defaults), one per declarative entity kind. */
export function entityValidators(
  plugins?: PluginSchemas,
): Record<Exclude<EntityKind, 'consumer_group_consumers'>, EntityValidator> {
  const wrap =
    (fn: AnyValidator): EntityValidator =>
    (input) =>
      fn(input) as Record<string, unknown>;
  return {
    services: wrap(entities.validateService),
    routes: wrap(entities.validateRoute),
    upstreams: wrap(entities.validateUpstream),
    targets: wrap(entities.validateTarget),
    consumers: wrap(entities.validateConsumer),
    consumer_groups: wrap(entities.validateConsumerGroup),
    plugins: (input) =>
      entities.validatePlugin(input, {
        validateConfig: plugins
          ? (name, config, scope) => plugins.validateConfig(name, config, scope)
          : undefined,
      }),
    certificates: wrap(entities.validateCertificate),
    snis: wrap(entities.validateSni),
    ca_certificates: wrap(entities.validateCaCertificate),
    keyauth_credentials: wrap(entities.validateKeyAuthCredential),
    basicauth_credentials: wrap(entities.validateBasicAuthCredential),
    jwt_secrets: wrap(entities.validateJwtSecret),
    hmacauth_credentials: wrap(entities.validateHmacAuthCredential),
    acls: wrap(entities.validateAcl),
  };
}

import {
  deepMerge,
  ENTITIES,
  validatePlugin,
  unknownPluginViolation,
  type Plugin,
  type PluginSchemas as DeclarativePluginSchemas,
} from '@gatehouse/shared';
import type { PrismaClient } from '../generated/prisma/client.js';
import { EntityRepository } from './entity-repository.js';
import type { ConfigWriter } from './tx.js';

/**
 * What the control plane needs of plugins (structurally `PluginCatalog` from
 * `@gatehouse/data-plane/schemas`, which loads no handler): config validation at write time and
 * schema descriptions.
 */
export interface PluginSchemas extends DeclarativePluginSchemas {
  describe(name: string): Record<string, unknown> | undefined;
  list(): { name: string; version: string; priority: number }[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Validates a plugin body: the envelope (shared rules) and its config through the registry. */
export function pluginValidator(registry: PluginSchemas | undefined) {
  return (body: unknown, base?: Partial<Plugin>) => {
    let input = body;
    // PATCH: a partial config is merged over the stored one (as Kong merges nested records).
    if (base && isRecord(body) && isRecord(body.config) && base.config) {
      input = { ...body, config: deepMerge(base.config, body.config) };
    }
    return validatePlugin(input, {
      base,
      validateConfig: (name, config, scope) => {
        if (!registry?.has(name)) throw unknownPluginViolation(name);
        // Generated here, at write time, and stored: every CP replica and DP then agree.
        const filled = registry.fillGenerated?.(name, config ?? {}) ?? config;
        return registry.validateConfig(name, filled, scope);
      },
    }) as unknown as Record<string, unknown>;
  };
}

/** Kong's plugins endpoints: global and scoped to a service, route, consumer or consumer group. */
export class PluginRepository extends EntityRepository<Plugin> {
  constructor(prisma: PrismaClient, write: ConfigWriter, registry: PluginSchemas | undefined) {
    const validate = pluginValidator(registry);
    super(ENTITIES.plugins, prisma, write, {
      validate: (body, base) => validate(body, base),
    });
  }
}

import type { Plugin, PluginProtocol } from '../config/model.js';
import { kongErrorBody, schemaViolation, type FieldErrors } from './errors.js';
import { stripReadOnly } from './common.js';
import * as td from '../schema/typedefs.js';
import type { RecordField } from '../schema/types.js';
import { isPlainObject, putOwn } from '../schema/values.js';
import { consumerGroupSchema, consumerSchema } from './consumer.js';
import { routeSchema } from './route.js';
import { serviceSchema } from './service.js';
import { checkEntity, throwIfErrors } from './validate.js';

export const PLUGIN_PROTOCOLS: readonly PluginProtocol[] = [
  'grpc',
  'grpcs',
  'http',
  'https',
  'tcp',
  'tls',
  'tls_passthrough',
  'udp',
  'ws',
  'wss',
];
export const PLUGIN_DEFAULT_PROTOCOLS: PluginProtocol[] = ['grpc', 'grpcs', 'http', 'https'];

/** A scope reference as a client writes it: by id, or by the target's endpoint key (name/username). */
export type ScopeReference = { id: string } | { name: string };

export type PluginInput = Omit<
  Plugin,
  'id' | 'created_at' | 'updated_at' | 'service' | 'route' | 'consumer' | 'consumer_group'
> & {
  id?: string;
  service: ScopeReference | null;
  route: ScopeReference | null;
  consumer: ScopeReference | null;
  consumer_group: ScopeReference | null;
};

/** A plugin's scope: a reference by id or name, checked against the target's schema as Kong does. */
const scope = (reference: string, schema: () => RecordField) =>
  td.foreign(reference, { by_name: true, schema });

/** Kong's plugins schema; `config` is checked here only to be a record (the plugin's schema does the rest). */
export const pluginSchema: RecordField = {
  type: 'record',
  fields: {
    id: td.id(),
    created_at: td.autoTimestamp(),
    updated_at: td.autoTimestamp(),
    name: td.indexedText({ required: true }),
    instance_name: td.name(),
    route: scope('routes', () => routeSchema),
    service: scope('services', () => serviceSchema),
    consumer: scope('consumers', () => consumerSchema),
    consumer_group: scope('consumer_groups', () => consumerGroupSchema),
    config: {
      type: 'record',
      fields: {},
      parse: (v) => (isPlainObject(v) ? { value: v } : { error: 'expected a record' }),
    },
    protocols: td.protocols(PLUGIN_PROTOCOLS, { required: true, default: PLUGIN_DEFAULT_PROTOCOLS }),
    enabled: { type: 'boolean', required: true, default: true },
    tags: td.tags(),
  },
};

export interface ValidatePluginOptions {
  base?: Partial<Plugin>;
  /**
   * The plugin's own config validation (the plugin registry's `validateConfig`): returns the
   * config with defaults filled, throws a schema violation with fields under `config`. Without
   * it, `config` is only checked to be a record (absent = `{}`).
   */
  validateConfig?:
    | ((
        name: string,
        config: Record<string, unknown>,
        scope: { consumer: unknown; consumer_group: unknown; protocols: readonly string[] },
      ) => Record<string, unknown>)
    | undefined;
}

/**
 * Validates a plugin's envelope (name, instance_name, scopes, protocols, enabled, tags) and,
 * through `validateConfig`, its config. Envelope and config errors come back in one violation.
 */
export function validatePlugin(input: unknown, options: ValidatePluginOptions = {}): PluginInput {
  const base = options.base ? stripReadOnly(options.base) : undefined;
  const { values, errors } = checkEntity(pluginSchema, input, base);
  const v = values as unknown as PluginInput & { config: Record<string, unknown> | null };
  let config = v.config ?? {};
  if (!errors.name && !errors.config && !errors.protocols && options.validateConfig) {
    try {
      config = options.validateConfig(v.name, config, {
        consumer: v.consumer,
        consumer_group: v.consumer_group,
        protocols: v.protocols,
      });
    } catch (e) {
      const body = kongErrorBody(e);
      if (!body) throw e;
      mergeConfigErrors(errors, body.fields, body.message);
    }
  }
  throwIfErrors(errors);
  const out: PluginInput = {
    name: v.name,
    instance_name: v.instance_name,
    config,
    protocols: v.protocols,
    enabled: v.enabled,
    service: v.service,
    route: v.route,
    consumer: v.consumer,
    consumer_group: v.consumer_group,
    tags: v.tags ?? null,
  };
  if (v.id) out.id = v.id;
  return out;
}

function mergeConfigErrors(
  errors: FieldErrors,
  fields: Record<string, unknown> | undefined,
  message: string,
) {
  if (!fields || Object.keys(fields).length === 0) {
    errors.name = message;
    return;
  }
  for (const [key, value] of Object.entries(fields)) putOwn(errors, key, value);
}

/** Kong's message for a plugin name the registry does not know. */
export function unknownPluginViolation(name: string) {
  return schemaViolation({
    name: `plugin '${name}' not enabled; add it to the 'plugins' configuration property`,
  });
}

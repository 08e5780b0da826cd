import type { Plugin, PluginProtocol } from '../config/model.js';
import { kongErrorBody, schemaViolation, type FieldErrors } from './errors.js';
import { stripReadOnly } from './common.js';
import * as f from './fields.js';
import { emptyToNull, throwIfErrors, validateFields, type Specs } from './validate.js';

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

const scope = {
  kind: 'foreign' as const,
  nullable: true,
  default: null,
  validate: f.foreignKey({ byName: true }),
};

const configRecord: f.Validator<Record<string, unknown>> = (v) => {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new f.FieldError('expected a record');
  return v as Record<string, unknown>;
};

export const PLUGIN_FIELDS: Specs = {
  id: { kind: 'string', nullable: true, validate: f.uuid },
  created_at: { kind: 'ignored', nullable: true, validate: f.timestamp },
  updated_at: { kind: 'ignored', nullable: true, validate: f.timestamp },
  name: { kind: 'string', nullable: false, validate: f.string },
  instance_name: { kind: 'string', nullable: true, default: null, validate: f.name },
  route: scope,
  service: scope,
  consumer: scope,
  consumer_group: scope,
  config: { kind: 'record', nullable: true, default: null, validate: configRecord },
  protocols: {
    kind: 'set',
    nullable: false,
    default: PLUGIN_DEFAULT_PROTOCOLS,
    validate: f.set(f.oneOf(PLUGIN_PROTOCOLS), { minLength: 1 }),
  },
  enabled: { kind: 'boolean', nullable: false, default: true, validate: f.boolean },
  tags: { kind: 'set', nullable: true, default: null, validate: f.set(f.tag) },
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
  const { values, errors } = validateFields(input, PLUGIN_FIELDS, { base });
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
    tags: emptyToNull(v.tags),
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
  for (const [key, value] of Object.entries(fields)) {
    errors[key] = value as FieldErrors[string];
  }
}

/** Kong's message for a plugin name the registry does not know. */
export function unknownPluginViolation(name: string) {
  return schemaViolation({
    name: `plugin '${name}' not enabled; add it to the 'plugins' configuration property`,
  });
}

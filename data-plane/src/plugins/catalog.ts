/**
 * What is known of plugins without running them: validation of a plugin's config and scope at
 * write time, Kong's `GET /schemas/plugins/{name}` JSON, and the name / version / priority list.
 * Built from specs only (no handler), so the control plane can use it through
 * `@gatehouse/data-plane/schemas`; the data plane's `PluginRegistry` extends it with handlers.
 */
import * as schema from '@gatehouse/shared/schema/index';
import { schemaViolation } from '@gatehouse/shared/entities/errors';
import type { PluginProtocol } from '@gatehouse/shared/config/model';
import type { PluginSpec } from './api.js';
import { PluginErrors } from './errors.js';

export interface PluginSummary {
  name: string;
  version: string;
  priority: number;
}

export interface PluginScope {
  consumer?: { id: string } | null;
  consumer_group?: { id: string } | null;
  protocols?: readonly string[] | null;
}

const DEFAULT_PROTOCOLS: readonly PluginProtocol[] = ['grpc', 'grpcs', 'http', 'https'];

function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export class PluginCatalog<P extends PluginSpec = PluginSpec> {
  protected readonly byName = new Map<string, P>();
  private readonly customNames = new Set<string>();

  /** Bundled specs first; a custom plugin may not take a bundled (or another custom) name. */
  constructor(bundled: readonly P[], custom: readonly P[] = []) {
    for (const spec of bundled) this.byName.set(spec.name, spec);
    for (const spec of custom) {
      if (this.byName.has(spec.name)) {
        throw PluginErrors.loadFailed(`custom plugin '${spec.name}' clashes with a plugin of the same name`, {
          name: spec.name,
        });
      }
      this.byName.set(spec.name, spec);
      this.customNames.add(spec.name);
    }
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
      .map(({ name, version, priority }) => ({ name, version, priority }))
      .sort(byName);
  }

  /**
   * `config` with the values the plugin generates when left out (PluginSpec.generate; Kong's
   * auto fields, e.g. oauth2's provision_key) filled in; anything else comes back as it is.
   */
  fillGenerated(name: string, config: unknown): unknown {
    const generate = this.byName.get(name)?.generate;
    if (generate === undefined || typeof config !== 'object' || config === null || Array.isArray(config))
      return config;
    return generate(config as Record<string, unknown>);
  }

  /** What a DP announces in its Hello (and what the CP compares it with). */
  pluginInfos(): { name: string; version: string }[] {
    return this.list().map(({ name, version }) => ({ name, version }));
  }

  /**
   * Validates a plugin's config (defaults filled in) and, when given, its scope (Kong's
   * `no_consumer`, allowed protocols). Throws GH_ERR_ENTITY_SCHEMA_VIOLATION with Kong's fields
   * (`config.<field>`, `name` for an unknown plugin).
   */
  validateConfig(name: string, config: unknown, scope?: PluginScope): Record<string, unknown> {
    const spec = this.byName.get(name);
    if (spec === undefined) {
      throw schemaViolation({
        name: `plugin '${name}' not enabled; add it to the 'plugins' configuration property`,
      });
    }
    if (scope !== undefined) {
      const fields: Record<string, string | (string | null)[]> = {};
      if (spec.noConsumer === true) {
        if (scope.consumer != null) fields.consumer = 'value must be null';
        if (scope.consumer_group != null) fields.consumer_group = 'value must be null';
      }
      const allowed = spec.protocols ?? DEFAULT_PROTOCOLS;
      if (scope.protocols != null) {
        const errs = scope.protocols.map((p) =>
          allowed.includes(p as PluginProtocol) ? null : `expected one of: ${allowed.join(', ')}`,
        );
        if (errs.some((e) => e !== null)) fields.protocols = errs;
      }
      const checked = schema.check(spec.schema, config ?? {});
      if (checked.errors !== null || Object.keys(fields).length > 0) {
        throw schemaViolation(checked.errors === null ? fields : { ...fields, config: checked.errors });
      }
      return checked.value as Record<string, unknown>;
    }
    return schema.validate(spec.schema, config ?? {}, { path: ['config'] }).value;
  }

  /** Kong's JSON for `GET /schemas/plugins/{name}`, or undefined for an unknown name. */
  describe(name: string): Record<string, unknown> | undefined {
    const spec = this.byName.get(name);
    if (spec === undefined) return undefined;
    const protocols = spec.protocols ?? DEFAULT_PROTOCOLS;
    const fields: Record<string, unknown>[] = [];
    if (spec.noConsumer === true) {
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
    fields.push({ config: schema.describe({ ...spec.schema, required: true }) });
    return { fields };
  }

  /** Protocols a plugin may run on (Kong's `protocols` typedef of the plugin). */
  protocolsOf(name: string): readonly PluginProtocol[] {
    return this.byName.get(name)?.protocols ?? DEFAULT_PROTOCOLS;
  }
}

import type { GatehouseConfig } from '../config/model.js';
import { emptyConfig, ENTITIES } from '../entities/registry.js';
import { canonicalJson } from '../snapshot/canonical.js';
import { isBasicAuthHash, isUuid, kongErrorBody, type FieldErrors } from '../entities/index.js';
import { inputProblems, putOwn } from '../schema/values.js';
import { childPath, DeclarativeErrors, type DeclarativeProblem } from './errors.js';
import type { DeclarativeDocument } from './parse.js';
import {
  IGNORED_ENTITY_KEYS,
  KIND_SPEC,
  KIND_SPECS,
  UNSUPPORTED_FIELDS,
  UNSUPPORTED_KINDS,
  type EntityKind,
  type KindSpec,
  type RefSpec,
} from './schema.js';
import { entityId } from './uuid.js';
import { entityValidators, generatedPluginFields, type PluginSchemas } from './validators.js';

export const FORMAT_VERSION = '3.0';

export interface ToConfigOptions {
  /** Drop unsupported entities/fields (listed in `unsupported`) instead of refusing the document. */
  skipUnsupported?: boolean;
  /** Plugin registry: validates plugin configs (defaults filled); unknown names are unsupported. */
  plugins?: PluginSchemas;
  /** Timestamp (Unix seconds) for entities without created_at/updated_at. Default: now. */
  now?: number;
  /** Named in error messages. */
  filename?: string;
}

/**
 * A field the resolver generated because the file left it out (key-auth keys, jwt/hmac secrets;
 * `config.<name>` for a plugin's generated config field, e.g. oauth2's `config.provision_key`).
 */
export interface GeneratedField {
  kind: EntityKind;
  id: string;
  field: string;
}

export interface ToConfigResult {
  config: GatehouseConfig;
  /** `path: reason` for every entity/field dropped with skipUnsupported. */
  unsupported: string[];
  /** Fields generated at random; an import keeps the stored value for these. */
  generated: GeneratedField[];
  /**
   * Basic-auth passwords given in clear, by credential id (the config holds a fresh hash): an
   * import keeps a stored hash that matches the clear password. Sensitive: never log it.
   */
  clearPasswords: Map<string, string>;
}

interface RawEntity {
  kind: EntityKind;
  path: string;
  fields: Record<string, unknown>;
  parent?: { field: string; entity: RawEntity };
  /** Where to report a problem with a reference field (default: `path.field`). */
  refPaths?: Record<string, string>;
  id?: string;
  refs: Record<string, string | null>;
  dropped?: string;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** Canonical JSON for natural keys (`null` for a missing value). */
const stable = (v: unknown): string => canonicalJson(v) ?? 'null';

const display = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

class Resolver {
  readonly problems: DeclarativeProblem[] = [];
  readonly unsupported: string[] = [];
  readonly entities: RawEntity[] = [];
  readonly generated: GeneratedField[] = [];
  readonly clearPasswords = new Map<string, string>();
  private readonly ids = new Map<EntityKind, Map<string, RawEntity>>();
  private readonly keys = new Map<EntityKind, Map<string, RawEntity>>();
  private readonly occurrences = new Map<string, number>();
  transform = true;

  constructor(private readonly options: ToConfigOptions) {}

  problem(path: string, message: string) {
    this.problems.push({ path, message });
  }

  /** An entity/field Gatehouse lacks: a problem, or (skipUnsupported) dropped and listed. */
  unsupportedAt(path: string, message: string): void {
    if (this.options.skipUnsupported) this.unsupported.push(`${path}: ${message}`);
    else this.problems.push({ path, message, unsupported: true });
  }

  topLevel(doc: DeclarativeDocument): void {
    if (!('_format_version' in doc)) this.problem('_format_version', 'required field missing');
    for (const [key, value] of Object.entries(doc)) {
      switch (key) {
        case '_format_version':
          this.formatVersion(value);
          break;
        case '_transform':
          if (typeof value !== 'boolean') this.problem(key, 'expected a boolean');
          else this.transform = value;
          break;
        case '_comment':
          if (typeof value !== 'string') this.problem(key, 'expected a string');
          break;
        case '_ignore':
          if (!Array.isArray(value)) this.problem(key, 'expected an array');
          break;
        case '_workspace':
          if (value !== 'default')
            this.unsupportedAt(key, `workspaces are not supported (only 'default'; got ${display(value)})`);
          break;
        case '_info':
        case '_konnect':
        case '_plugin_configs':
          this.unsupportedAt(key, `decK's '${key}' section is not supported`);
          break;
        default:
          if (Object.hasOwn(KIND_SPEC, key)) this.collectList(key as EntityKind, value, key);
          else if (UNSUPPORTED_KINDS.includes(key))
            this.unsupportedAt(key, `'${key}' entities are not supported by Gatehouse`);
          else this.problem(key, 'unknown field');
      }
    }
  }

  private formatVersion(value: unknown) {
    if (value === FORMAT_VERSION) return;
    if (typeof value !== 'string') {
      this.problem(
        '_format_version',
        `expected the string "${FORMAT_VERSION}" (got ${display(value)}${typeof value === 'number' ? '; quote it' : ''})`,
      );
    } else if (value === '1.1' || value === '2.1') {
      this.problem(
        '_format_version',
        `"${value}" is a Kong 1.x/2.x format; Gatehouse reads "${FORMAT_VERSION}" (convert with 'deck file convert --from kong-gateway-2.x --to kong-gateway-3.x')`,
      );
    } else {
      this.problem('_format_version', `expected "${FORMAT_VERSION}" (got "${value}")`);
    }
  }

  private collectList(kind: EntityKind, list: unknown, path: string, parent?: RawEntity['parent']) {
    if (list === null || list === undefined) return;
    if (!Array.isArray(list)) {
      this.problem(path, 'expected an array');
      return;
    }
    list.forEach((item, i) => this.collectItem(kind, item, childPath(path, i), parent));
  }

  private collectItem(kind: EntityKind, item: unknown, path: string, parent?: RawEntity['parent']) {
    if (!isRecord(item)) {
      this.problem(path, 'expected a record');
      return;
    }
    const spec = KIND_SPEC[kind];
    const raw: RawEntity = { kind, path, fields: {}, parent, refs: {} };
    this.entities.push(raw);
    const deferred: (() => void)[] = [];
    for (const [key, value] of Object.entries(item)) {
      if (IGNORED_ENTITY_KEYS.includes(key)) continue;
      const nest = spec.nested.find((n) => n.key === key);
      if (nest) {
        deferred.push(() =>
          this.collectList(nest.kind, value, childPath(path, key), { field: nest.parentField, entity: raw }),
        );
      } else if (kind === 'consumers' && key === 'groups') {
        deferred.push(() => this.collectMemberships(raw, value, childPath(path, key), 'consumer_group'));
      } else if (kind === 'consumer_groups' && key === 'consumers') {
        deferred.push(() => this.collectMemberships(raw, value, childPath(path, key), 'consumer'));
      } else if (UNSUPPORTED_FIELDS[kind]?.includes(key)) {
        this.unsupportedAt(childPath(path, key), `field '${key}' is not supported by Gatehouse`);
      } else if (parent && key === parent.field && value !== null) {
        this.problem(
          childPath(path, key),
          `value must be null (a nested ${spec.label} belongs to the enclosing ${KIND_SPEC[parent.entity.kind].label})`,
        );
      } else {
        putOwn(raw.fields, key, value);
      }
    }
    for (const fn of deferred) fn();
  }

  /** decK's `consumers[].groups[]` and Kong's `consumer_groups[].consumers[]` shorthands. */
  private collectMemberships(
    owner: RawEntity,
    list: unknown,
    path: string,
    refField: 'consumer' | 'consumer_group',
  ) {
    if (!Array.isArray(list)) {
      if (list !== null && list !== undefined) this.problem(path, 'expected an array');
      return;
    }
    const ownerField = refField === 'consumer' ? 'consumer_group' : 'consumer';
    (list as unknown[]).forEach((item, i) => {
      const itemPath = childPath(path, i);
      this.entities.push({
        kind: 'consumer_group_consumers',
        path: itemPath,
        fields: { [refField]: item },
        parent: { field: ownerField, entity: owner },
        refPaths: { [refField]: itemPath },
        refs: {},
      });
    });
  }

  /** Resolves references and assigns ids, kind by kind in dependency order. */
  link(): void {
    for (const spec of KIND_SPECS) {
      const ids = new Map<string, RawEntity>();
      const keys = new Map<string, RawEntity>();
      this.ids.set(spec.kind, ids);
      this.keys.set(spec.kind, keys);
      for (const raw of this.entities) {
        if (raw.kind !== spec.kind) continue;
        for (const ref of spec.refs) raw.refs[ref.field] = this.resolveRef(raw, ref);
        if (raw.parent?.entity.dropped && !raw.dropped) raw.dropped = raw.parent.entity.path;
        if (spec.kind === 'services') this.checkCaCertificates(raw);
        if (spec.kind === 'plugins') this.checkPluginName(raw);
        raw.id = this.idFor(raw, spec);
        if (!ids.has(raw.id)) ids.set(raw.id, raw);
        const key =
          spec.endpointKey && spec.unique.includes(spec.endpointKey) && raw.fields[spec.endpointKey];
        if (typeof key === 'string' && !keys.has(key)) keys.set(key, raw);
      }
    }
  }

  private resolveRef(raw: RawEntity, ref: RefSpec): string | null {
    if (raw.parent?.field === ref.field) return raw.parent.entity.id ?? null;
    const path = raw.refPaths?.[ref.field] ?? childPath(raw.path, ref.field);
    const value = raw.fields[ref.field];
    if (value === undefined || value === null) {
      if (ref.required) this.problem(path, 'required field missing');
      return null;
    }
    const target = KIND_SPEC[ref.target];
    let key: unknown = value;
    let byId = false;
    if (isRecord(value)) {
      const names = Object.keys(value);
      if ('id' in value && names.length === 1) {
        key = value.id;
        byId = true;
      } else if (target.endpointKey && target.endpointKey in value && names.length === 1) {
        key = value[target.endpointKey];
      } else {
        const by = target.endpointKey ? `'id' or '${target.endpointKey}'` : "'id'";
        this.problem(path, `expected a reference: a string, or a record with ${by}`);
        return null;
      }
    }
    if (typeof key !== 'string' || key === '') {
      this.problem(path, `expected a reference to a ${target.label} (a name or an id)`);
      return null;
    }
    const found =
      (isUuid(key) ? this.ids.get(ref.target)?.get(key.toLowerCase()) : undefined) ??
      (byId ? undefined : this.keys.get(ref.target)?.get(key));
    if (!found) {
      this.problem(path, `invalid reference '${ref.field}: ${key}' (no such entry in '${ref.target}')`);
      return null;
    }
    if (found.dropped && !raw.dropped) raw.dropped = found.path;
    return found.id!;
  }

  private checkCaCertificates(raw: RawEntity) {
    const list = raw.fields.ca_certificates;
    if (!Array.isArray(list)) return;
    list.forEach((v, i) => {
      if (typeof v === 'string' && isUuid(v) && !this.ids.get('ca_certificates')?.has(v.toLowerCase())) {
        this.problem(
          childPath(childPath(raw.path, 'ca_certificates'), i),
          `invalid reference 'ca_certificates: ${v}' (no such entry in 'ca_certificates')`,
        );
      }
    });
  }

  private checkPluginName(raw: RawEntity) {
    const name = raw.fields.name;
    const { plugins } = this.options;
    if (!plugins || typeof name !== 'string' || raw.dropped) return;
    if (!plugins.has(name)) {
      this.unsupportedAt(childPath(raw.path, 'name'), `plugin '${name}' is not available in Gatehouse`);
      raw.dropped = raw.path;
    }
  }

  /** The entity's id: given, or derived from its natural key as Kong's DB-less mode does. */
  private idFor(raw: RawEntity, spec: KindSpec): string {
    const given = raw.fields.id;
    if (typeof given === 'string' && isUuid(given)) return given.toLowerCase();
    const key = ENTITIES[spec.kind].naturalKey({
      fields: raw.fields,
      text: (v) => (typeof v === 'string' ? v : stable(v)),
      ref: (field) => raw.refs[field] ?? '',
      nth: (k) => this.nth(k),
    });
    return typeof key === 'string' ? entityId(spec.kind, key) : key.id;
  }

  /** `key`, then `key#2`, `key#3` … for entities without a natural key that repeat. */
  private nth(key: string): string {
    const n = (this.occurrences.get(key) ?? 0) + 1;
    this.occurrences.set(key, n);
    return n === 1 ? key : `${key}#${n}`;
  }

  /** Validates every kept entity and builds the flat config. */
  build(): GatehouseConfig {
    const config = emptyConfig();
    const validators = entityValidators(this.options.plugins);
    const now = this.options.now ?? Math.floor(Date.now() / 1000);
    const seen = new Map<string, RawEntity>();
    for (const spec of KIND_SPECS) {
      for (const raw of this.entities) {
        if (raw.kind !== spec.kind) continue;
        if (raw.dropped) {
          if (raw.dropped !== raw.path && this.options.skipUnsupported)
            this.unsupported.push(`${raw.path}: dropped with ${raw.dropped}`);
          continue;
        }
        const entity = this.validate(raw, spec, validators, now);
        if (!entity) continue;
        if (this.duplicate(raw, spec, entity, seen)) continue;
        (config[spec.kind] as unknown[]).push(entity);
      }
      (config[spec.kind] as { id: string }[]).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    }
    return config;
  }

  private validate(
    raw: RawEntity,
    spec: KindSpec,
    validators: ReturnType<typeof entityValidators>,
    now: number,
  ): Record<string, unknown> | undefined {
    const { created_at, updated_at, ...fields } = raw.fields;
    const input: Record<string, unknown> = { ...fields, id: raw.id };
    for (const ref of spec.refs) {
      const id = raw.refs[ref.field];
      input[ref.field] = id ? { id } : null;
    }
    const times: Record<string, unknown> = {};
    for (const [name, value] of [
      ['created_at', created_at],
      ['updated_at', updated_at],
    ] as const) {
      if (value === undefined || value === null) continue;
      if (typeof value === 'number' && Number.isInteger(value) && value >= 0) times[name] = value;
      else this.problem(childPath(raw.path, name), 'expected an integer (Unix seconds)');
    }
    let value: Record<string, unknown>;
    if (spec.kind === 'consumer_group_consumers') {
      const extra = Object.keys(fields).filter((k) => !['id', 'consumer', 'consumer_group'].includes(k));
      for (const k of extra) this.problem(childPath(raw.path, k), 'unknown field');
      if (extra.length || !raw.refs.consumer || !raw.refs.consumer_group) return undefined;
      value = {
        consumer_group: { id: raw.refs.consumer_group },
        consumer: { id: raw.refs.consumer },
      };
    } else {
      if (
        spec.kind === 'basicauth_credentials' &&
        !this.transform &&
        typeof fields.password === 'string' &&
        !isBasicAuthHash(fields.password)
      ) {
        this.problem(
          childPath(raw.path, 'password'),
          "with '_transform: false' the password must be a Gatehouse scrypt hash ($scrypt$N$r$p$salt$hash)",
        );
        return undefined;
      }
      if (spec.kind === 'plugins') {
        // Kong's auto fields (oauth2's provision_key): generated here, kept from the store on import.
        const g = generatedPluginFields(this.options.plugins, input.name, input.config);
        input.config = g.config;
        for (const f of g.fields) this.generated.push({ kind: spec.kind, id: raw.id!, field: `config.${f}` });
      }
      try {
        value = validators[spec.kind](input);
      } catch (e) {
        const body = kongErrorBody(e);
        if (!body) throw e;
        this.fieldProblems(raw.path, body.fields ?? { '@entity': [body.message] });
        return undefined;
      }
      if (
        spec.kind === 'basicauth_credentials' &&
        typeof fields.password === 'string' &&
        !isBasicAuthHash(fields.password)
      ) {
        this.clearPasswords.set(raw.id!, fields.password);
      }
      for (const field of spec.generated) {
        if (fields[field] === undefined || fields[field] === null) {
          if (value[field] !== null && value[field] !== undefined)
            this.generated.push({ kind: spec.kind, id: raw.id!, field });
        }
      }
    }
    const entity: Record<string, unknown> = { id: raw.id, ...value };
    entity.created_at = times.created_at ?? now;
    if (spec.hasUpdatedAt) entity.updated_at = times.updated_at ?? times.created_at ?? now;
    return entity;
  }

  /** Flattens a Kong `fields` error object into path-named problems. */
  private fieldProblems(path: string, fields: FieldErrors | Record<string, unknown>) {
    for (const [key, value] of Object.entries(fields)) {
      if (key === '@entity') {
        for (const m of Array.isArray(value) ? value : [value])
          if (typeof m === 'string') this.problem(path, m);
      } else if (typeof value === 'string') {
        this.problem(childPath(path, key), value);
      } else if (Array.isArray(value)) {
        value.forEach((m, i) => {
          if (typeof m === 'string') this.problem(childPath(childPath(path, key), i), m);
          else if (isRecord(m)) this.fieldProblems(childPath(childPath(path, key), i), m);
        });
      } else if (isRecord(value)) {
        this.fieldProblems(childPath(path, key), value);
      }
    }
  }

  /** Kong's uniqueness checks: unique fields, natural keys of scoped entities, primary keys. */
  private duplicate(
    raw: RawEntity,
    spec: KindSpec,
    entity: Record<string, unknown>,
    seen: Map<string, RawEntity>,
  ): boolean {
    const fkId = (field: string) => (entity[field] as { id: string } | null)?.id ?? '';
    const checks: [string, unknown, string][] = spec.unique.map((field) => [
      field,
      entity[field],
      `${field} set to '${display(entity[field])}'`,
    ]);
    switch (spec.kind) {
      case 'targets':
        checks.push([
          'target',
          `${String(entity.target)}@${fkId('upstream')}`,
          `target set to '${String(entity.target)}' for the same upstream`,
        ]);
        break;
      case 'plugins':
        checks.push([
          'name',
          [entity.name, fkId('service'), fkId('route'), fkId('consumer'), fkId('consumer_group')].join(':'),
          `name set to '${String(entity.name)}' on the same service, route, consumer and consumer group`,
        ]);
        break;
      case 'acls':
        checks.push([
          'group',
          `${fkId('consumer')}:${String(entity.group)}`,
          `group set to '${String(entity.group)}' for the same consumer`,
        ]);
        break;
      case 'consumer_group_consumers':
        checks.push([
          'consumer',
          `${fkId('consumer_group')}:${fkId('consumer')}`,
          'the same consumer in the same consumer group',
        ]);
        break;
    }
    checks.push(['id', entity.id, `primary key set to '${String(entity.id)}'`]);
    for (const [field, value, label] of checks) {
      if (value === null || value === undefined) continue;
      const key = `${spec.kind}\u0000${field}\u0000${stable(value)}`;
      const first = seen.get(key);
      if (first) {
        this.problem(
          raw.path,
          `uniqueness violation: '${spec.kind}' entity with ${label} already declared (at ${first.path})`,
        );
        return true;
      }
    }
    for (const [field, value] of checks) {
      if (value !== null && value !== undefined)
        seen.set(`${spec.kind}\u0000${field}\u0000${stable(value)}`, raw);
    }
    return false;
  }
}

/**
 * Resolves a parsed Kong 3.0 declarative document (nested and flat, references by name or id)
 * into a flat GatehouseConfig: every entity validated by the shared validators (Kong defaults
 * filled), ids derived from natural keys where the file has none (the same file always gives the
 * same ids), references and uniqueness checked. Throws GH_ERR_DECLARATIVE_INVALID (or
 * GH_ERR_DECLARATIVE_UNSUPPORTED) listing every problem by path; nothing is partially returned.
 */
export function toConfig(doc: DeclarativeDocument, options: ToConfigOptions = {}): ToConfigResult {
  const r = new Resolver(options);
  if (!isRecord(doc)) {
    throw DeclarativeErrors.invalid(
      [{ path: '', message: 'expected a mapping at the top level' }],
      options.filename,
    );
  }
  // Forbidden keys (`__proto__`, …), NUL characters and deep nesting: refused before anything reads the document.
  const refused = inputProblems(doc);
  if (refused.length) {
    throw DeclarativeErrors.invalid(
      refused.map((p) => ({ path: p.path.reduce<string>(childPath, ''), message: p.message })),
      options.filename,
    );
  }
  r.topLevel(doc);
  r.link();
  const config = r.build();
  if (r.problems.length) throw DeclarativeErrors.invalid(r.problems, options.filename);
  return { config, unsupported: r.unsupported, generated: r.generated, clearPasswords: r.clearPasswords };
}

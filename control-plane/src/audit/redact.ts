/**
 * Secrets never reach the audit log. Which fields are secret comes from the entity registry and
 * the schemas, never from a list kept here:
 *  - an entity's `hidden` and `generated` fields (certificate keys, credential keys and secrets),
 *  - every field its schema marks `encrypted` (Kong's attribute: a basic-auth password, key
 *    material), at any depth of a record field,
 *  - in a plugin's `config`, every field the plugin's schema marks `encrypted` (a Redis password,
 *    an http-log header set), read from its `GET /schemas/plugins/{name}` description,
 *  - an RBAC table's token columns (`rbac_users.user_token_hash`: rbac/daos.ts).
 * A request body is not tied to one schema, so its keys are matched by name against every secret
 * field name above, the RBAC endpoints' secret fields (`user_token`: rbac/rbac-input.ts
 * `USER_SECRET_FIELDS`) and Kong's `audit_log_payload_exclude` defaults (`token`, `secret`,
 * `password`); the paths removed are listed in the entry's `removed_from_payload`, as Kong does.
 */
import { ENTITIES, ENTITY_KINDS, type EntityKind, type Specs } from '@gatehouse/shared';
import { RBAC_DAOS, RBAC_SECRET_COLUMNS, type RbacDao } from '../rbac/daos.js';
import { USER_SECRET_FIELDS } from '../rbac/rbac-input.js';

/** What the redactor reads of the plugin schemas (a partial set, e.g. a test's, reads as none). */
export interface DescribedPlugins {
  describe?(name: string): Record<string, unknown> | undefined;
  list?(): { name: string }[];
}

export const REDACTED = '<redacted>';

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The secret paths of a record schema: `true` for a secret leaf, a nested map for a record. */
type SecretTree = Map<string, true | SecretTree>;

function secretTreeOfFields(fields: Specs['fields']): SecretTree {
  const tree: SecretTree = new Map();
  for (const [name, field] of Object.entries(fields)) {
    if (field.encrypted === true) tree.set(name, true);
    else if (field.type === 'record') {
      const inner = secretTreeOfFields(field.fields);
      if (inner.size > 0) tree.set(name, inner);
    }
  }
  return tree;
}

/** The same from a described (Kong JSON) schema: `fields` is a list of one-key objects. */
function secretTreeOfDescribed(described: unknown): SecretTree {
  const tree: SecretTree = new Map();
  const list = isRecord(described) && Array.isArray(described.fields) ? described.fields : [];
  for (const item of list) {
    if (!isRecord(item)) continue;
    for (const [name, field] of Object.entries(item)) {
      if (!isRecord(field)) continue;
      if (field.encrypted === true) tree.set(name, true);
      else if (field.type === 'record') {
        const inner = secretTreeOfDescribed(field);
        if (inner.size > 0) tree.set(name, inner);
      }
    }
  }
  return tree;
}

/** What the audit log records changes of: configuration entities and the RBAC tables. */
export type AuditDao = EntityKind | RbacDao;

const entityTrees = new Map<AuditDao, SecretTree>([
  ...ENTITY_KINDS.map((kind): [AuditDao, SecretTree] => {
    const record = ENTITIES[kind];
    const tree = secretTreeOfFields(record.schema.fields);
    for (const f of [...(record.hidden ?? []), ...(record.generated ?? [])]) tree.set(f, true);
    return [kind, tree];
  }),
  ...RBAC_DAOS.map((dao): [AuditDao, SecretTree] => [
    dao,
    new Map(RBAC_SECRET_COLUMNS[dao].map((f) => [f, true] as const)),
  ]),
]);

function applyTree(value: unknown, tree: SecretTree): unknown {
  if (!isRecord(value)) return value;
  const out: Json = { ...value };
  for (const [name, sub] of tree) {
    if (!Object.hasOwn(out, name)) continue;
    const v = out[name];
    if (sub === true) {
      if (v !== null && v !== undefined) out[name] = REDACTED;
    } else out[name] = applyTree(v, sub);
  }
  return out;
}

/**
 * The key names redacted in request bodies: every secret field name of every entity, the RBAC
 * users' secret fields, and Kong's defaults.
 */
function secretNames(plugins: DescribedPlugins | undefined): Set<string> {
  const names = new Set<string>(['token', 'secret', 'password', ...USER_SECRET_FIELDS]);
  const collect = (tree: SecretTree) => {
    for (const [name, sub] of tree) {
      if (sub === true) names.add(name);
      else collect(sub);
    }
  };
  for (const tree of entityTrees.values()) collect(tree);
  for (const p of plugins?.list?.() ?? []) collect(secretTreeOfDescribed(plugins?.describe?.(p.name)));
  return names;
}

/** Redacts entities and request bodies for the audit log (one per ConfigStore: its plugin schemas). */
export class AuditRedactor {
  private readonly pluginTrees = new Map<string, SecretTree>();
  private names: Set<string> | undefined;

  constructor(private readonly plugins: DescribedPlugins | undefined) {}

  /** A copy of `entity` (of kind `kind`) with its secret fields replaced by `<redacted>`. */
  entity(kind: AuditDao, entity: Json): Json {
    let out = applyTree(entity, entityTrees.get(kind) ?? (new Map() as SecretTree)) as Json;
    if (kind === 'plugins' && typeof out.name === 'string' && isRecord(out.config)) {
      out = { ...out, config: applyTree(out.config, this.pluginTree(out.name)) };
    }
    return out;
  }

  /** A request body with every key named as a secret replaced; returns the removed paths. */
  payload(body: unknown): { payload: unknown; removed: string[] } {
    this.names ??= secretNames(this.plugins);
    const names = this.names;
    const removed: string[] = [];
    const walk = (v: unknown, path: string, depth: number): unknown => {
      if (depth > 64) return REDACTED;
      if (Array.isArray(v)) return v.map((e, i) => walk(e, `${path}[${i}]`, depth + 1));
      if (!isRecord(v)) return v;
      const out: Json = {};
      for (const [k, e] of Object.entries(v)) {
        const p = path ? `${path}.${k}` : k;
        if (names.has(k) && e !== null && e !== undefined) {
          Object.defineProperty(out, k, { value: REDACTED, enumerable: true, writable: true });
          removed.push(p);
        } else
          Object.defineProperty(out, k, {
            value: walk(e, p, depth + 1),
            enumerable: true,
            writable: true,
          });
      }
      return out;
    };
    return { payload: walk(body, '', 0), removed };
  }

  private pluginTree(name: string): SecretTree {
    let tree = this.pluginTrees.get(name);
    if (!tree) {
      const described = this.plugins?.describe?.(name);
      const config = isRecord(described)
        ? (described.fields as unknown[] | undefined)?.find((f) => isRecord(f) && 'config' in f)
        : undefined;
      tree = isRecord(config) ? secretTreeOfDescribed(config.config) : new Map();
      this.pluginTrees.set(name, tree);
    }
    return tree;
  }
}

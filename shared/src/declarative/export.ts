import { stringify } from 'yaml';
import type { GatehouseConfig, Plugin } from '../config/model.js';
import { FORMAT_VERSION } from './resolve.js';
import { CREDENTIAL_KINDS, ENTITIES, type EntityKind } from '../entities/registry.js';
import { KIND_SPEC } from './schema.js';

export interface FromConfigOptions {
  /** `yaml` (default) or `json`. */
  format?: 'yaml' | 'json';
}

type Entity = { id: string } & Record<string, unknown>;
type Doc = Record<string, unknown>;

/** A plugin's scopes: its foreign keys (`service`, `route`, `consumer`, `consumer_group`). */
const SCOPES = ENTITIES.plugins.foreign.map((fk) => fk.field) as (
  'service' | 'route' | 'consumer' | 'consumer_group'
)[];
const SCOPE_KIND = Object.fromEntries(ENTITIES.plugins.foreign.map((fk) => [fk.field, fk.target])) as Record<
  (typeof SCOPES)[number],
  EntityKind
>;

/** Entity fields as written in a file: no timestamps, no nulls, no parent key; keys sorted. */
function fields(entity: Entity, omit: readonly string[] = []): Doc {
  const out: Doc = {};
  for (const key of Object.keys(entity).sort()) {
    if (key === 'created_at' || key === 'updated_at' || omit.includes(key)) continue;
    const value = entity[key];
    if (value === null || value === undefined) continue;
    out[key] = sortRecords(value);
  }
  return out;
}

/** Nested records with sorted keys (stored JSON may come back in another key order); arrays keep theirs. */
function sortRecords(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortRecords);
  if (value === null || typeof value !== 'object') return value;
  const rec = value as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(rec)
      .sort()
      .map((k) => [k, sortRecords(rec[k])]),
  );
}

/** Named first (by name), then by id: a stable order that reads well. */
function ordered<T extends Entity>(list: readonly T[], nameField?: string): T[] {
  const name = (e: T) => (nameField && typeof e[nameField] === 'string' ? e[nameField] : undefined);
  return [...list].sort((a, b) => {
    const na = name(a);
    const nb = name(b);
    if (na !== undefined && nb !== undefined && na !== nb) return na < nb ? -1 : 1;
    if (na !== undefined && nb === undefined) return -1;
    if (na === undefined && nb !== undefined) return 1;
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
}

/** Adds `key: list` in sorted key position when the list is not empty. */
function withChildren(doc: Doc, children: Record<string, Doc[]>): Doc {
  const merged: Doc = { ...doc };
  for (const [key, list] of Object.entries(children)) if (list.length) merged[key] = list;
  const out: Doc = {};
  for (const key of Object.keys(merged).sort()) out[key] = merged[key];
  return out;
}

function groupBy<T extends Entity>(list: readonly T[], field: string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const e of list) {
    const id = (e[field] as { id: string } | null)?.id;
    if (!id) continue;
    const bucket = map.get(id);
    if (bucket) bucket.push(e);
    else map.set(id, [e]);
  }
  return map;
}

/**
 * Writes a configuration as a Kong 3.0 declarative document, nested as Kong and decK do
 * (services with their routes and plugins, consumers with their credentials, upstreams with
 * targets, certificates with SNIs, consumer groups with members and plugins, key sets with
 * their keys). Ids are kept,
 * timestamps and null fields left out, keys and entities in a stable order: toConfig() of the
 * output and fromConfig() again gives the same bytes. Basic-auth passwords are their hashes.
 */
export function fromConfig(config: GatehouseConfig, options: FromConfigOptions = {}): string {
  const cfg = config as unknown as Record<EntityKind, Entity[]>;
  const label = (kind: EntityKind, id: string): string => {
    const key = KIND_SPEC[kind].endpointKey;
    const target = cfg[kind].find((e) => e.id === id);
    const name = key && target ? target[key] : undefined;
    return typeof name === 'string' ? name : id;
  };

  // A plugin nests under its one scope entity; plugins with several scopes (or none) stay top-level.
  const plugins = cfg.plugins as unknown as (Plugin & Entity)[];
  const scopeOf = (p: Plugin) => SCOPES.filter((s) => p[s] !== null);
  const nestedPlugins = new Map<string, Entity[]>();
  const topPlugins: Doc[] = [];
  for (const p of ordered(plugins, 'name')) {
    const scopes = scopeOf(p);
    if (scopes.length === 1) {
      const id = p[scopes[0]!]!.id;
      const bucket = nestedPlugins.get(id) ?? [];
      bucket.push(p);
      nestedPlugins.set(id, bucket);
    } else {
      const doc = fields(p, SCOPES);
      for (const s of scopes) doc[s] = label(SCOPE_KIND[s], p[s]!.id);
      topPlugins.push(withChildren(doc, {}));
    }
  }
  const pluginsOf = (id: string) => (nestedPlugins.get(id) ?? []).map((p) => fields(p, SCOPES));

  const routesByService = groupBy(cfg.routes, 'service');
  const routeDoc = (r: Entity) => withChildren(fields(r, ['service']), { plugins: pluginsOf(r.id) });

  const doc: Doc = { _format_version: FORMAT_VERSION };
  const put = (key: string, list: Doc[]) => {
    if (list.length) doc[key] = list;
  };

  put(
    'ca_certificates',
    ordered(cfg.ca_certificates).map((c) => fields(c)),
  );
  const snisByCert = groupBy(cfg.snis, 'certificate');
  put(
    'certificates',
    ordered(cfg.certificates).map((c) =>
      withChildren(fields(c), {
        snis: ordered(snisByCert.get(c.id) ?? [], 'name').map((s) => fields(s, ['certificate'])),
      }),
    ),
  );
  const membersByGroup = groupBy(cfg.consumer_group_consumers, 'consumer_group');
  const consumers = new Map(cfg.consumers.map((c) => [c.id, c]));
  put(
    'consumer_groups',
    ordered(cfg.consumer_groups, 'name').map((g) => {
      const members = (membersByGroup.get(g.id) ?? [])
        .map((m) => consumers.get((m.consumer as { id: string }).id))
        .filter((c): c is Entity => c !== undefined);
      return withChildren(fields(g), {
        consumers: ordered(members, 'username').map((c) =>
          typeof c.username === 'string' ? { username: c.username } : { id: c.id },
        ),
        plugins: pluginsOf(g.id),
      });
    }),
  );
  const credentials = Object.fromEntries(CREDENTIAL_KINDS.map((k) => [k, groupBy(cfg[k], 'consumer')]));
  put(
    'consumers',
    ordered(cfg.consumers, 'username').map((c) =>
      withChildren(fields(c), {
        ...Object.fromEntries(
          CREDENTIAL_KINDS.map((k) => [
            k,
            ordered(credentials[k]!.get(c.id) ?? [], ENTITIES[k].endpointKeys[0]).map((e) =>
              fields(e, ['consumer']),
            ),
          ]),
        ),
        plugins: pluginsOf(c.id),
      }),
    ),
  );
  const keysBySet = groupBy(cfg.keys, 'set');
  put(
    'key_sets',
    ordered(cfg.key_sets, 'name').map((k) =>
      withChildren(fields(k), {
        keys: ordered(keysBySet.get(k.id) ?? [], 'name').map((key) => fields(key, ['set'])),
      }),
    ),
  );
  put(
    'keys',
    ordered(
      cfg.keys.filter((k) => !k.set),
      'name',
    ).map((k) => fields(k)),
  );
  // Revoked oauth2 tokens (ours, not Kong's oauth2_tokens): kept through an export and import.
  put(
    'oauth2_token_revocations',
    ordered(cfg.oauth2_token_revocations, 'jti').map((r) =>
      withChildren(
        {
          ...fields(r, ['credential']),
          credential: label('oauth2_credentials', (r.credential as { id: string }).id),
        },
        {},
      ),
    ),
  );
  put('plugins', topPlugins);
  put(
    'routes',
    ordered(
      cfg.routes.filter((r) => !r.service),
      'name',
    ).map(routeDoc),
  );
  put(
    'services',
    ordered(cfg.services, 'name').map((s) =>
      withChildren(fields(s), {
        routes: ordered(routesByService.get(s.id) ?? [], 'name').map(routeDoc),
        plugins: pluginsOf(s.id),
      }),
    ),
  );
  const targetsByUpstream = groupBy(cfg.targets, 'upstream');
  put(
    'upstreams',
    ordered(cfg.upstreams, 'name').map((u) =>
      withChildren(fields(u), {
        targets: ordered(targetsByUpstream.get(u.id) ?? [], 'target').map((t) => fields(t, ['upstream'])),
      }),
    ),
  );

  put(
    'vaults',
    ordered(cfg.vaults, 'prefix').map((v) => fields(v)),
  );

  if (options.format === 'json') return `${JSON.stringify(doc, null, 2)}\n`;
  return stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false });
}

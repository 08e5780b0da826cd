// One description per entity kind the configuration screens show, in Kong Manager's navigation
// order and with its labels: the Admin API collection, list columns, nested lists, which form.
// EntityView.vue renders any of them (entity-screens.ts makes them screens).
import type { KongFormKind } from './kong/forms';

/** An Admin API entity as listed (Kong's JSON). */
export type Entity = { id: string } & Record<string, unknown>;

/**
 * An entity as `GET /{collection}/{key}` answers it, or null: Kong Enterprise wraps a consumer
 * group as `{consumer_group, consumers, plugins}` (the screens list those themselves).
 */
export function entityFromLookup(body: unknown, collection: string): Entity | null {
  if (typeof body !== 'object' || body === null) return null;
  const b = body as Record<string, unknown>;
  if (typeof b.id === 'string') return b as Entity;
  const inner = b[collection.replace(/s$/, '')] as Record<string, unknown> | null | undefined;
  return typeof inner === 'object' && inner !== null && typeof inner.id === 'string'
    ? (inner as Entity)
    : null;
}

export interface Column {
  key: string;
  label: string;
  /** The cell's text; default: the field's value (lists joined, a reference's id shortened). */
  value?: (e: Entity) => string;
}

/** A list under one entity: `/{collection}/{id}/{path}`. */
export interface NestedList {
  /** Unique on the screen: ids and headings use it. */
  key: string;
  title: string;
  singular: string;
  /** `/schemas/{schema}` generates the form; none: `members` (a membership has no schema). */
  schema?: string;
  path: string;
  /** The child's foreign key the nesting fills (left out of the form). */
  parentField?: string;
  columns: Column[];
  /** Each row's health from `/{collection}/{id}/health` (upstream targets). */
  health?: boolean;
  /** Members added by key: `POST {path} {field: key}` (consumer-group members), chosen from `from`. */
  members?: { field: string; from: string };
  /** The rows cannot be edited, only added and deleted. */
  readOnly?: boolean;
  /** Created and edited with Kong's own form (kong/forms.ts) rather than one generated from the schema. */
  kongForm?: KongFormKind;
  /** A consumer's credentials: Kong's credential form where Kong has one for `path` (kong/forms.ts). */
  credential?: boolean;
}

export interface EntityKindScreen {
  path: string;
  title: string;
  /** For buttons and headings: `New ${singular}`. */
  singular: string;
  /** The Admin API collection (`/services`) and its schema name (`/schemas/services`). */
  collection: string;
  columns: Column[];
  nested?: NestedList[];
  /** A consumer: one nested list per credential kind the CP reports (`/gatehouse-ui.json`). */
  credentials?: boolean;
  readOnly?: boolean;
  /** Created and edited with Kong's own form (kong/forms.ts) rather than one generated from the schema. */
  kongForm?: KongFormKind;
}

const text = (v: unknown): string => {
  if (v === null || v === undefined || v === '') return '—';
  if (Array.isArray(v)) return v.length ? v.map(text).join(', ') : '—';
  if (typeof v === 'object')
    return typeof (v as Entity).id === 'string' ? (v as Entity).id.slice(0, 8) : JSON.stringify(v);
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : '—';
};

/** A cell's text. */
export const cell = (c: Column, e: Entity): string => (c.value ? c.value(e) : text(e[c.key]));

/** A name for an entity in buttons and messages: its first short one-line name-like field, else its id's start. */
export function entityLabel(e: Entity): string {
  for (const k of ['name', 'username', 'prefix', 'target', 'key', 'custom_id', 'group']) {
    const v = e[k];
    if (typeof v === 'string' && v !== '' && v.length <= 100 && !v.includes('\n')) return v;
  }
  return e.id.slice(0, 8);
}

const col = (key: string, label = key.charAt(0).toUpperCase() + key.slice(1).replace(/_/g, ' ')): Column => ({
  key,
  label,
});
const tags = col('tags');
const serviceUrl = (s: Entity) =>
  `${text(s.protocol)}://${text(s.host)}:${text(s.port)}${typeof s.path === 'string' ? s.path : ''}`;

export const ENTITY_KINDS: readonly EntityKindScreen[] = [
  {
    path: 'services',
    title: 'Gateway Services',
    singular: 'gateway service',
    collection: 'services',
    columns: [col('name'), { key: 'url', label: 'URL', value: serviceUrl }, col('enabled'), tags],
    kongForm: 'services',
    nested: [
      {
        key: 'service-routes',
        title: 'Routes',
        singular: 'route',
        schema: 'routes',
        path: 'routes',
        parentField: 'service',
        columns: [col('name'), col('paths'), col('hosts'), col('methods')],
        kongForm: 'routes',
      },
    ],
  },
  {
    path: 'routes',
    title: 'Routes',
    singular: 'route',
    collection: 'routes',
    columns: [col('name'), col('service'), col('paths'), col('hosts'), col('methods'), tags],
    kongForm: 'routes',
  },
  {
    path: 'consumers',
    title: 'Consumers',
    singular: 'consumer',
    collection: 'consumers',
    columns: [col('username'), { key: 'custom_id', label: 'Custom ID' }, tags],
    credentials: true,
    kongForm: 'consumers',
    nested: [
      {
        key: 'consumer-groups',
        title: 'Consumer Groups',
        singular: 'group membership',
        path: 'consumer_groups',
        columns: [col('name'), tags],
        members: { field: 'group', from: 'consumer_groups' },
        readOnly: true,
      },
    ],
  },
  {
    path: 'consumer-groups',
    title: 'Consumer Groups',
    singular: 'consumer group',
    collection: 'consumer_groups',
    columns: [col('name'), tags],
    kongForm: 'consumer_groups',
    nested: [
      {
        key: 'group-members',
        title: 'Consumers',
        singular: 'member',
        path: 'consumers',
        columns: [col('username'), { key: 'custom_id', label: 'Custom ID' }],
        members: { field: 'consumer', from: 'consumers' },
        readOnly: true,
      },
    ],
  },
  {
    path: 'upstreams',
    title: 'Upstreams',
    singular: 'upstream',
    collection: 'upstreams',
    columns: [col('name'), col('algorithm'), col('slots'), tags],
    kongForm: 'upstreams',
    nested: [
      {
        key: 'targets',
        title: 'Targets',
        singular: 'target',
        schema: 'targets',
        path: 'targets',
        parentField: 'upstream',
        columns: [col('target'), col('weight'), tags],
        health: true,
      },
    ],
  },
  {
    path: 'certificates',
    title: 'Certificates',
    singular: 'certificate',
    collection: 'certificates',
    columns: [{ key: 'id', label: 'ID', value: (e) => e.id.slice(0, 8) }, col('snis', 'SNIs'), tags],
    kongForm: 'certificates',
    nested: [
      {
        key: 'certificate-snis',
        title: 'SNIs',
        singular: 'SNI',
        schema: 'snis',
        path: 'snis',
        parentField: 'certificate',
        columns: [col('name'), tags],
        kongForm: 'snis',
      },
    ],
  },
  {
    path: 'ca-certificates',
    title: 'CA Certificates',
    singular: 'CA certificate',
    collection: 'ca_certificates',
    columns: [
      { key: 'id', label: 'ID', value: (e) => e.id.slice(0, 8) },
      { key: 'cert_digest', label: 'Digest', value: (e) => text(e.cert_digest).slice(0, 16) },
      tags,
    ],
    kongForm: 'ca_certificates',
  },
  {
    path: 'snis',
    title: 'SNIs',
    singular: 'SNI',
    collection: 'snis',
    columns: [col('name'), col('certificate'), tags],
    kongForm: 'snis',
  },
  {
    path: 'vaults',
    title: 'Vaults',
    singular: 'vault',
    collection: 'vaults',
    columns: [col('prefix'), col('name'), col('description'), tags],
  },
  {
    path: 'keys',
    title: 'Keys',
    singular: 'key',
    collection: 'keys',
    columns: [col('name'), { key: 'kid', label: 'Key ID' }, col('set'), tags],
    kongForm: 'keys',
  },
  {
    path: 'key-sets',
    title: 'Key Sets',
    singular: 'key set',
    collection: 'key-sets',
    columns: [col('name'), tags],
    kongForm: 'key-sets',
    nested: [
      {
        key: 'set-keys',
        title: 'Keys',
        singular: 'key',
        schema: 'keys',
        path: 'keys',
        parentField: 'set',
        columns: [col('name'), { key: 'kid', label: 'Key ID' }, tags],
        kongForm: 'keys',
      },
    ],
  },
];

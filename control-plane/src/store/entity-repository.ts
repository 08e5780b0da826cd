import { randomUUID } from 'node:crypto';
import { ENTITIES, isUuid, referencesTo, type EntityKind, type EntityRecord } from '@gatehouse/shared';
import type { PrismaClient } from '../generated/prisma/client.js';
import {
  missingForeignKey,
  notFound,
  primaryKeyViolation,
  referencedBy,
  uniqueViolationOn,
  unresolvedForeignKey,
} from './errors.js';
import {
  columnsOf,
  delegate,
  entityFromRow,
  findByKey,
  type Db,
  type Row,
  type StoredRow,
} from './generic-rows.js';
import { paginate, tagsWhere } from './list.js';
import type { ListOptions, Page } from './pagination.js';
import type { ConfigWriter, Tx } from './tx.js';
import type { ChangeLog } from '../audit/objects.js';

type Entity = Record<string, unknown>;
type Ref = { id: string } | { name: string } | null | undefined;

/** A parent an endpoint is nested under: `/consumers/{c}/key-auth` => { field: 'consumer', key: c }. */
export interface ParentScope {
  field: string;
  key: string;
}

export interface WriteHooks {
  /** Validates the body (with the stored entity as PATCH base) into entity-shaped input. */
  validate(body: unknown, base: Entity | undefined, tx: Db): Promise<Entity> | Entity;
  /** Runs after the row is written, in the same transaction (e.g. a certificate's transient snis). */
  afterWrite?(tx: Tx, entity: Entity, input: Entity): Promise<Entity>;
}

/**
 * Kong's CRUD for one entity over its Prisma model, driven by its registry record: id-or-endpoint-key
 * lookups, nested scopes, foreign keys resolved by id or endpoint key (400 when missing), Kong's
 * unique checks (409) done under the config-version row lock (every write holds it), PUT upserts,
 * deletes refused while Kong would refuse them (cascades are the database's).
 */
export class EntityRepository<T = Entity> {
  constructor(
    readonly def: EntityRecord,
    protected readonly prisma: PrismaClient,
    protected readonly write: ConfigWriter,
    private readonly hooks: WriteHooks = {
      validate: (body, base) => def.validate(body, { base: base as never }) as Entity,
    },
  ) {}

  protected toEntity(row: Row): T {
    return entityFromRow<T>(this.def, row);
  }

  /** The parent's `{ <field>_id: id }` filter; 404 when the parent does not exist. */
  async scopeWhere(db: Db, parent: ParentScope | undefined): Promise<Record<string, string>> {
    if (!parent) return {};
    const fk = this.def.foreign.find((f) => f.field === parent.field)!;
    const row = await findByKey(db, ENTITIES[fk.target], parent.key);
    if (!row) throw notFound();
    return { [`${parent.field}_id`]: row.id };
  }

  async list(
    options: ListOptions & { parent?: ParentScope; where?: Record<string, unknown> } = {},
  ): Promise<Page<T>> {
    const scope = await this.scopeWhere(this.prisma, options.parent);
    const d = delegate(this.prisma, this.def.kind);
    const page = await paginate<StoredRow, T>(
      options,
      ({ where, orderBy, take }) =>
        d.findMany({ where: { ...where, ...tagsWhere(options), ...scope, ...options.where }, orderBy, take }),
      (row) => this.toEntity(row),
      { db: this.prisma, record: this.def },
    );
    if (this.def.hidden) {
      for (const e of page.data as Entity[]) for (const f of this.def.hidden) delete e[f];
    }
    return page;
  }

  async find(db: Db, key: string, parent?: ParentScope): Promise<StoredRow | null> {
    return findByKey(db, this.def, key, await this.scopeWhere(db, parent));
  }

  async get(key: string, parent?: ParentScope): Promise<T> {
    const row = await this.find(this.prisma, key, parent);
    if (!row) throw notFound();
    return this.toEntity(row);
  }

  /**
   * Puts the parent reference into a body: a nested POST and PUT always point at the parent; a
   * nested PATCH only when the body names no parent (Kong's `patch_entity_endpoint` lets the body
   * move the entity).
   */
  protected async withParent(
    db: Db,
    body: unknown,
    parent: ParentScope | undefined,
    mode: 'set' | 'default' = 'set',
  ): Promise<unknown> {
    if (!parent || body === null || typeof body !== 'object' || Array.isArray(body)) return body;
    if (mode === 'default' && Object.hasOwn(body, parent.field)) return body;
    const scope = await this.scopeWhere(db, parent);
    return { ...body, [parent.field]: { id: scope[`${parent.field}_id`] } };
  }

  async create(body: unknown, parent?: ParentScope): Promise<T> {
    const raw = await this.withParent(this.prisma, body, parent);
    const pre = await this.hooks.validate(raw, undefined, this.prisma);
    return this.write(async (tx, _version, log) => {
      const id = (pre.id as string | undefined) ?? randomUUID();
      if (pre.id && (await delegate(tx, this.def.kind).findUnique({ where: { id } })))
        throw primaryKeyViolation(id);
      return this.save(tx, id, pre, undefined, log);
    });
  }

  async update(key: string, body: unknown, parent?: ParentScope): Promise<T> {
    return this.write(async (tx, _version, log) => {
      const existing = await this.find(tx, key, parent);
      if (!existing) throw notFound();
      const raw = await this.withParent(tx, body, parent, 'default');
      const input = await this.hooks.validate(raw, entityFromRow(this.def, existing), tx);
      return this.save(tx, existing.id, input, existing, log);
    });
  }

  /**
   * Whether `key` names at most one entity whatever its parent: an id, or endpoint keys each unique
   * on its own (a key-auth `key`, a route `name`; not an ACL `group`, unique per consumer).
   */
  private keyIsGlobal(key: string): boolean {
    const alone = (field: string) => this.def.unique.some((u) => u.length === 1 && u[0] === field);
    return isUuid(key) || this.def.endpointKeys.every(alone);
  }

  /**
   * PUT: creates or replaces the entity at `key` (an id, or an endpoint key the entity then
   * carries). Under a parent, an entity the key names globally is replaced wherever it is, and
   * so moved under the parent, as Kong's `put_entity_endpoint` upserts by key.
   */
  async upsert(key: string, body: unknown, parent?: ParentScope): Promise<{ entity: T; created: boolean }> {
    const byId = isUuid(key);
    let raw = body && typeof body === 'object' && !Array.isArray(body) ? { ...(body as Entity) } : body;
    if (raw && typeof raw === 'object') {
      delete (raw as Entity).id;
      const endpointKey = this.def.endpointKeys[0];
      if (!byId && endpointKey) (raw as Entity)[endpointKey] = key;
    }
    raw = await this.withParent(this.prisma, raw, parent);
    return this.write(async (tx, _version, log) => {
      const existing = await this.find(tx, key, this.keyIsGlobal(key) ? undefined : parent);
      const input = await this.hooks.validate(raw, undefined, tx);
      const id = existing?.id ?? (byId ? key.toLowerCase() : randomUUID());
      if (!existing && (await delegate(tx, this.def.kind).findUnique({ where: { id } })))
        throw primaryKeyViolation(id);
      const entity = await this.save(tx, id, input, existing ?? undefined, log);
      return { entity, created: !existing };
    });
  }

  /**
   * Deletes the entity at `key`. A missing entity is a no-op at the top level (Kong's generic
   * delete answers 204) but a 404 under a parent (Kong's nested delete checks the relation).
   */
  async delete(key: string, parent?: ParentScope): Promise<void> {
    const existing = await this.find(this.prisma, key, parent);
    if (!existing) {
      if (parent) throw notFound();
      return;
    }
    await this.write(async (tx, _version, log) => {
      const row = await delegate(tx, this.def.kind).findUnique({ where: { id: existing.id } });
      if (!row) return;
      await assertNotReferenced(tx, this.def.kind, row.id);
      await delegate(tx, this.def.kind).delete({ where: { id: row.id } });
      log.deleted(this.def.kind, entityFromRow(this.def, row as Row));
    });
  }

  /** Resolves references, checks uniqueness, writes the row, notes the change in `log`. */
  protected async save(
    tx: Tx,
    id: string,
    input: Entity,
    existing: StoredRow | undefined,
    log: ChangeLog,
  ): Promise<T> {
    const value: Entity = { ...input };
    for (const fk of this.def.foreign)
      value[fk.field] = await resolveRef(tx, fk.field, fk.target, value[fk.field] as Ref);
    await assertUnique(tx, this.def, value, id);
    const data = columnsOf(this.def, value);
    const now = new Date();
    if (this.def.hasUpdatedAt) data.updated_at = now;
    const d = delegate(tx, this.def.kind);
    const row = existing
      ? await d.update({ where: { id }, data })
      : await d.create({ data: { ...data, id, created_at: now } });
    let entity = entityFromRow<Entity>(this.def, row);
    if (this.hooks.afterWrite) entity = await this.hooks.afterWrite(tx, entity, input);
    if (existing) log.updated(this.def.kind, entityFromRow(this.def, existing), entity);
    else log.created(this.def.kind, entity);
    return entity as T;
  }
}

/** `{ id }` for a reference given by id or endpoint key; a foreign-key violation when it does not exist. */
export async function resolveRef(
  tx: Db,
  field: string,
  target: EntityKind,
  ref: Ref,
): Promise<{ id: string } | null> {
  if (ref === null || ref === undefined) return null;
  if ('id' in ref) {
    const row = await delegate(tx, target).findUnique({ where: { id: ref.id } });
    if (!row) throw missingForeignKey(field, { id: ref.id }, target);
    return { id: ref.id };
  }
  const row = await findByKey(tx, ENTITIES[target], ref.name);
  if (!row) throw unresolvedForeignKey(field, 'name', ref.name, target);
  return { id: row.id };
}

/** Kong's unique constraints (409), checked inside the write transaction. */
export async function assertUnique(tx: Db, def: EntityRecord, value: Entity, selfId: string): Promise<void> {
  const foreign = new Set(def.foreign.map((f) => f.field));
  for (const fields of def.unique) {
    const where: Record<string, unknown> = { NOT: { id: selfId } };
    let allNull = true;
    for (const field of fields) {
      const v = value[field];
      if (v !== null && v !== undefined) allNull = false;
      if (foreign.has(field)) where[`${field}_id`] = (v as { id: string } | null)?.id ?? null;
      else where[field] = v ?? null;
    }
    if (allNull || (fields.length === 1 && (value[fields[0]!] ?? null) === null)) continue;
    if (await delegate(tx, def.kind).findFirst({ where })) {
      throw uniqueViolationOn(Object.fromEntries(fields.map((f) => [f, value[f] ?? null])));
    }
  }
}

/** Kong refuses to delete an entity that a `restrict` reference still points at. */
export async function assertNotReferenced(tx: Db, key: EntityKind, id: string): Promise<void> {
  for (const ref of referencesTo(key)) {
    if (ref.onDelete !== 'restrict') continue;
    if ((await delegate(tx, ref.from).count({ where: { [`${ref.field}_id`]: id } })) > 0)
      throw referencedBy(ref.from, key);
  }
}

/**
 * Entity changes for the audit log (`audit_objects`): the store's writes note each entity they
 * create, update or delete in the write's `ChangeLog`, and `ConfigStore.write` appends them to the
 * chain in the same transaction, so a change is never committed without its entry nor the reverse.
 * The RBAC store does the same for its tables (rbac/rbac-store.ts, `dao_name` from rbac/daos.ts).
 * `entity` is the entity as the operation left it (Kong's field; for a delete, the entity deleted)
 * and `before` the entity before it (null for a create), secrets redacted (redact.ts), both as
 * canonical JSON text.
 */
import { randomUUID } from 'node:crypto';
import { canonicalJson } from '@gatehouse/shared';
import type { Tx } from '../store/tx.js';
import { appendToChain, type ChainRow } from './chain.js';
import type { AuditDao, AuditRedactor } from './redact.js';
import { currentAuditSource, type AuditSource } from './source.js';

type Entity = Record<string, unknown>;

export type AuditOperation = 'create' | 'update' | 'delete';

export interface EntityChange {
  kind: AuditDao;
  operation: AuditOperation;
  before: Entity | null;
  after: Entity | null;
  /** The entry's `entity_key` when the entity has no `id` (an RBAC link: its key fields joined by `:`). */
  key?: string;
}

/** What one write (configuration or RBAC) changed, entity by entity, in the order it changed them. */
export class ChangeLog {
  readonly changes: EntityChange[] = [];

  created(kind: AuditDao, after: object, key?: string): void {
    this.changes.push({ kind, operation: 'create', before: null, after: after as Entity, key });
  }

  updated(kind: AuditDao, before: object, after: object, key?: string): void {
    this.changes.push({ kind, operation: 'update', before: before as Entity, after: after as Entity, key });
  }

  deleted(kind: AuditDao, before: object, key?: string): void {
    this.changes.push({ kind, operation: 'delete', before: before as Entity, after: null, key });
  }
}

const entityKey = (c: EntityChange): string => {
  if (c.key !== undefined) return c.key;
  const id = (c.after ?? c.before)?.id;
  return typeof id === 'string' ? id : '';
};

/** Appends one `audit_objects` row per change to the chain (no-op without changes). */
export async function recordChanges(
  tx: Tx,
  log: ChangeLog,
  redactor: AuditRedactor,
  source: AuditSource = currentAuditSource(),
): Promise<void> {
  if (log.changes.length === 0) return;
  const json = (kind: AuditDao, e: Entity | null) =>
    e === null ? null : canonicalJson(redactor.entity(kind, e));
  const rows: ChainRow[] = log.changes.map((c) => ({
    id: randomUUID(),
    request_id: source.requestId,
    request_timestamp: source.timestamp,
    client_ip: source.clientIp,
    rbac_user_name: source.actorName,
    dao_name: c.kind,
    entity_key: entityKey(c),
    operation: c.operation,
    entity: json(c.kind, c.after ?? c.before),
    before: json(c.kind, c.before),
  }));
  await appendToChain(tx, 'audit_objects', rows);
}

/**
 * The audit log's hash chains, one per table (`audit_requests`, `audit_objects`). A row's `hash`
 * is SHA-256 (hex) of its predecessor's hash followed by the row's canonical form (its fields in
 * a fixed order as JSON, timestamps as ISO strings); the first row ever follows 64 zeros.
 *
 * Several CP replicas write one database, so appends are serialised by a transaction-scoped
 * advisory lock per table (`pg_advisory_xact_lock`): a writer takes it, reads the last hash,
 * inserts its rows (their `seq` drawn after the lock, so `seq` order is chain order) and releases
 * it at commit. Two
 * writers can never both link to the same predecessor, and a rolled-back append leaves no link
 * (only a gap in `seq`, which the chain does not see). `verifyChain` walks a table in `seq` order
 * from its oldest kept row (retention deletes the oldest rows; the first kept row's `prev_hash`
 * is taken as given) and names the first row whose hash or link does not hold.
 */
import { createHash } from 'node:crypto';
import type { Db, Tx } from '../store/tx.js';
import { JOB_LOCK_NAMESPACE } from '../jobs/exclusive.js';

export const GENESIS_HASH = '0'.repeat(64);
/** Rows per INSERT statement (one jsonb parameter each). */
const CHUNK = 1000;

export type AuditTable = 'audit_requests' | 'audit_objects';

/** The fields of each table, in the order they are hashed (seq, prev_hash and hash excluded). */
export const CHAINED_FIELDS: Record<AuditTable, readonly string[]> = {
  audit_requests: [
    'request_id',
    'request_timestamp',
    'client_ip',
    'method',
    'path',
    'payload',
    'removed_from_payload',
    'status',
    'rbac_user_name',
    'actor_kind',
    'request_source',
  ],
  audit_objects: [
    'id',
    'request_id',
    'request_timestamp',
    'client_ip',
    'rbac_user_name',
    'dao_name',
    'entity_key',
    'operation',
    'entity',
    'before',
  ],
};

export type ChainRow = Record<string, string | number | Date | null>;

const canonicalValue = (v: unknown) => (v instanceof Date ? v.toISOString() : (v ?? null));

/** The hash of `row` after `prev`. */
export function chainHash(table: AuditTable, prev: string, row: Record<string, unknown>): string {
  const canonical = JSON.stringify(CHAINED_FIELDS[table].map((f) => canonicalValue(row[f])));
  return createHash('sha256').update(prev).update('\n').update(canonical).digest('hex');
}

/**
 * Takes `table`'s chain lock for the rest of the transaction (re-entrant within it). One lock per
 * table: a long import holds the objects' lock until it commits, and a request entry (a refused
 * write's, say) must not wait for it.
 */
async function lockChain(tx: Tx, table: AuditTable): Promise<void> {
  const key = `audit-chain:${table}`;
  await tx.$queryRaw`SELECT pg_advisory_xact_lock(${JOB_LOCK_NAMESPACE}::int, hashtext(${key}))::text AS locked`;
}

/** Appends `rows` (in order) to `table`'s chain inside `tx`. */
export async function appendToChain(tx: Tx, table: AuditTable, rows: readonly ChainRow[]): Promise<void> {
  if (rows.length === 0) return;
  await lockChain(tx, table);
  const last = await tx.$queryRawUnsafe<{ hash: string }[]>(
    `SELECT hash FROM ${table} ORDER BY seq DESC LIMIT 1`,
  );
  let prev = last[0]?.hash ?? GENESIS_HASH;
  const linked = rows.map((row) => {
    const hash = chainHash(table, prev, row);
    const out = { ...row, prev_hash: prev, hash };
    prev = hash;
    return out;
  });
  const cols = [...CHAINED_FIELDS[table], 'prev_hash', 'hash'].map((c) => `"${c}"`).join(', ');
  const sql =
    `INSERT INTO ${table} (${cols}) SELECT ${cols} FROM ` +
    `jsonb_populate_recordset(NULL::${table}, $1::jsonb) WITH ORDINALITY AS r ORDER BY r.ordinality`;
  for (let i = 0; i < linked.length; i += CHUNK)
    await tx.$executeRawUnsafe(sql, JSON.stringify(linked.slice(i, i + CHUNK)));
}

/** The first row of a table whose chain does not hold. */
export interface ChainBreak {
  table: AuditTable;
  seq: string;
  request_id: string;
  reason: string;
}

export interface ChainReport {
  table: AuditTable;
  /** Rows checked. */
  rows: number;
  /** The oldest kept row's seq (where the walk started), null for an empty table. */
  first: string | null;
  broken: ChainBreak | null;
}

/** Walks `table` in seq order and checks every row's link and hash. */
export async function verifyChain(db: Db, table: AuditTable, pageSize = 1000): Promise<ChainReport> {
  const cols = ['seq', ...CHAINED_FIELDS[table], 'prev_hash', 'hash'].map((c) => `"${c}"`).join(', ');
  let after: bigint | null = null;
  let prev: string | null = null;
  let rows = 0;
  let first: string | null = null;
  for (;;) {
    const page: Record<string, unknown>[] = await db.$queryRawUnsafe(
      `SELECT ${cols} FROM ${table} WHERE ($1::bigint IS NULL OR seq > $1::bigint) ORDER BY seq LIMIT ${pageSize}`,
      after === null ? null : after.toString(),
    );
    for (const row of page) {
      const seq = String(row.seq);
      first ??= seq;
      const at = (reason: string): ChainReport => ({
        table,
        rows,
        first,
        broken: { table, seq, request_id: String(row.request_id), reason },
      });
      if (prev !== null && row.prev_hash !== prev)
        return at(
          `its prev_hash does not match the hash of the row before it (a row was removed or altered)`,
        );
      if (chainHash(table, String(row.prev_hash), row) !== row.hash)
        return at('its hash does not match its content (the row was altered)');
      prev = String(row.hash);
      rows++;
    }
    if (page.length < pageSize) return { table, rows, first, broken: null };
    after = BigInt(String(page[page.length - 1]!.seq));
  }
}

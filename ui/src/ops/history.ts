/**
 * The History screen's facts, from the config history API (docs/config-history.md): versions
 * with author and time, and a diff between two versions flattened into rows to read.
 */
export interface ConfigVersion {
  version: number;
  hash: string;
  created_at: number;
  author: string;
  summary: string;
}

export interface FieldChange {
  from: unknown;
  to: unknown;
}

interface KindChanges {
  added?: Array<Record<string, unknown>>;
  removed?: Array<Record<string, unknown>>;
  changed?: Array<{ id?: string; label?: string; fields?: Record<string, FieldChange> }>;
}

export interface ConfigDiff {
  from: ConfigVersion;
  to: ConfigVersion;
  summary: string;
  changes: Record<string, KindChanges>;
}

export interface DiffRow {
  kind: string;
  op: 'added' | 'removed' | 'changed';
  label: string;
  /** For a change: each field with its two values as JSON text. */
  fields: Array<{ name: string; from: string; to: string }>;
}

const NAME_FIELDS = ['name', 'username', 'custom_id', 'target', 'key', 'prefix', 'group', 'subject_name'];

/** How an added or removed entity is named: its first naming field, else its id. */
export function entityLabel(kind: string, e: Record<string, unknown>): string {
  for (const f of NAME_FIELDS) {
    const v = e[f];
    if (typeof v === 'string' && v && v !== '[redacted]') return `${kind.replace(/s$/, '')} '${v}'`;
  }
  return `${kind.replace(/s$/, '')} ${typeof e.id === 'string' ? e.id.slice(0, 8) : '(no id)'}`;
}

/** The objects of a list the answer should hold (anything else is skipped, never thrown on). */
const objects = <T>(v: unknown): T[] =>
  Array.isArray(v) ? (v.filter((x) => x !== null && typeof x === 'object' && !Array.isArray(x)) as T[]) : [];

const json = (v: unknown) => (v === undefined ? '—' : JSON.stringify(v));

/** The diff as rows, kinds in name order, each kind's added, then changed, then removed. */
export function diffRows(diff: Pick<ConfigDiff, 'changes'>): DiffRow[] {
  const rows: DiffRow[] = [];
  const changes = diff.changes && typeof diff.changes === 'object' ? diff.changes : {};
  for (const kind of Object.keys(changes).sort()) {
    const c: KindChanges = changes[kind] ?? {};
    for (const e of objects<Record<string, unknown>>(c.added))
      rows.push({ kind, op: 'added', label: entityLabel(kind, e), fields: [] });
    for (const e of objects<NonNullable<KindChanges['changed']>[number]>(c.changed))
      rows.push({
        kind,
        op: 'changed',
        label: typeof e.label === 'string' ? e.label : entityLabel(kind, e),
        fields: Object.entries(e.fields && typeof e.fields === 'object' ? e.fields : {}).map(([name, f]) => ({
          name,
          from: json((f as FieldChange | null)?.from),
          to: json((f as FieldChange | null)?.to),
        })),
      });
    for (const e of objects<Record<string, unknown>>(c.removed))
      rows.push({ kind, op: 'removed', label: entityLabel(kind, e), fields: [] });
  }
  return rows;
}

/** "3 min ago"-free absolute time for a history row: ISO date and time, UTC. */
export function whenText(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  return Number.isNaN(d.getTime())
    ? '—'
    : d
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, ' UTC');
}

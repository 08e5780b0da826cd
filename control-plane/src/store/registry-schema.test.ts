import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ENTITY_RECORDS, type EntityRecord } from '@gatehouse/shared';
import { describe, expect, it } from 'vitest';
import { Prisma } from '../generated/prisma/client.js';
import { EMPTY_LISTS } from './sql-names.js';

interface Column {
  name: string;
  type: string;
  attributes: string;
}
interface Model {
  name: string;
  table: string;
  columns: Column[];
}

/** The models of schema.prisma: name, table (`@@map`) and field lines. */
function prismaModels(): Model[] {
  const text = readFileSync(fileURLToPath(new URL('../../prisma/schema.prisma', import.meta.url)), 'utf8');
  return [...text.matchAll(/^model (\w+) \{([\s\S]*?)^\}/gm)].map(([, name, body]) => {
    const columns: Column[] = [];
    let table = name!;
    for (const line of body!.split('\n').map((l) => l.trim())) {
      const map = /^@@map\("([^"]+)"\)/.exec(line);
      if (map) table = map[1]!;
      const field = /^(\w+)\s+(\S+)(.*)$/.exec(line);
      if (field && !line.startsWith('@@') && !line.startsWith('//'))
        columns.push({ name: field[1]!, type: field[2]!, attributes: field[3]! });
    }
    return { name: name!, table, columns };
  });
}

/**
 * Models that hold no Admin API entity: the version row and its history, the DP registry, the
 * analytics history (its tiers), rollouts, RBAC (rbac/, not configuration), the audit log, the
 * oauth2 grants already redeemed (store/oauth2-used-tokens.ts: kept outside the configuration).
 */
const NOT_ENTITIES = new Set([
  'ConfigVersion',
  'Oauth2SigningKey',
  'ConfigHistory',
  'ConfigHistoryContent',
  'ClusteringDataPlane',
  'AnalyticsHistory',
  'AnalyticsHistoryHourly',
  'AnalyticsRollup',
  'Rollout',
  'RbacUser',
  'RbacRole',
  'RbacUserRole',
  'RbacRoleEndpoint',
  'AuditRequest',
  'AuditObject',
  'Oauth2UsedToken',
]);
const models = prismaModels();
const modelOf = (kind: string) => models.find((m) => m.table === kind);
const lowerFirst = (s: string) => s[0]!.toLowerCase() + s.slice(1);

describe('the entity registry (and what it derives from the entity schemas) matches the Prisma schema', () => {
  it('has one record per entity model and one model per record', () => {
    const tables = models.filter((m) => !NOT_ENTITIES.has(m.name)).map((m) => m.table);
    expect(ENTITY_RECORDS.map((r) => r.kind).sort()).toEqual(tables.sort());
  });

  it.each(ENTITY_RECORDS.map((r) => [r.kind, r] as const))('%s', (_kind, record: EntityRecord) => {
    const model = modelOf(record.kind)!;
    expect(Object.values(Prisma.ModelName)).toContain(model.name);
    expect(record.delegate).toBe(lowerFirst(model.name));
    const column = (name: string) => model.columns.find((c) => c.name === name);
    const foreign = new Map(record.foreign.map((fk) => [fk.field, fk]));
    for (const field of record.fields) {
      const fk = foreign.get(field);
      if (!fk) {
        expect(column(field), `${record.kind}.${field}`).toBeDefined();
        continue;
      }
      expect(column(`${field}_id`), `${record.kind}.${field}_id`).toBeDefined();
      const relation = model.columns.find((c) => c.attributes.includes(`fields: [${field}_id]`));
      expect(relation, `${record.kind}.${field} relation`).toBeDefined();
      expect(relation!.type.replace('?', ''), `${record.kind}.${field} target`).toBe(
        modelOf(fk.target)!.name,
      );
      expect(relation!.type.endsWith('?'), `${record.kind}.${field} optional`).toBe(!fk.required);
      const onDelete = /onDelete: (\w+)/.exec(relation!.attributes)?.[1]?.toLowerCase();
      expect(onDelete, `${record.kind}.${field} onDelete`).toBe(fk.onDelete);
    }
    // Every stored column is a field of the record (or a foreign key's id column).
    const scalars = model.columns.filter(
      (c) => !models.some((m) => c.type.replace(/[?[\]]/g, '') === m.name),
    );
    for (const c of scalars) {
      if (c.name === EMPTY_LISTS) continue;
      const field = c.name.endsWith('_id') && foreign.has(c.name.slice(0, -3)) ? c.name.slice(0, -3) : c.name;
      expect(record.fields, `${record.kind} column ${c.name}`).toContain(field);
    }
    // The facts the registry derives from the entity schema, against the columns.
    expect(column('updated_at') !== undefined, `${record.kind}.updated_at`).toBe(record.hasUpdatedAt);
    expect(column('tags')?.type ?? null, `${record.kind}.tags`).toBe(record.tags ? 'String[]' : null);
    expect(column('created_at')?.type, `${record.kind}.created_at`).toBe('DateTime');
    for (const list of record.lists) expect(column(list)?.type, `${record.kind}.${list}`).toBe('String[]');
    // `[]` kept apart from null: the table of a kind with list fields names those holding `[]`.
    expect(column(EMPTY_LISTS)?.type ?? null, `${record.kind}.${EMPTY_LISTS}`).toBe(
      record.lists.length > 0 ? 'String[]' : null,
    );
    for (const json of record.json) expect(column(json)?.type, `${record.kind}.${json}`).toMatch(/^Json\??$/);
  });
});

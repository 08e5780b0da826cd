/**
 * The config history's rows (prisma/schema.prisma `ConfigHistory`, `ConfigHistoryContent`). A row
 * is written by the config write that makes its version (author, time, note; store/config-store.ts)
 * and completed (hash, summary, content) when a snapshot of that version is published; only
 * completed rows are versions of the history.
 */
import { emptyConfig, type GatehouseConfig } from '@gatehouse/shared';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { Db } from '../store/index.js';
import { diffConfigs } from '../store/replace.js';
import { packConfig, unpackConfig } from './content.js';
import { summarizeChanges } from './summary.js';

/** A published version of the history. */
export interface HistoryVersion {
  version: bigint;
  created_at: Date;
  author: string;
  hash: string;
  summary: string;
  content_hash: string;
}

/** Longest `author` kept (several writers of one coalesced snapshot are joined with ", "). */
const MAX_AUTHORS = 500;

const PUBLISHED = { hash: { not: null } } as const;
const FIELDS = {
  version: true,
  created_at: true,
  author: true,
  hash: true,
  summary: true,
  content_hash: true,
} as const;

type Row = {
  version: bigint;
  created_at: Date;
  author: string;
  hash: string | null;
  summary: string | null;
  content_hash: string | null;
};

const published = (r: Row): HistoryVersion => ({
  version: r.version,
  created_at: r.created_at,
  author: r.author,
  hash: r.hash ?? '',
  summary: r.summary ?? '',
  content_hash: r.content_hash ?? '',
});

/** Newest first, `size` of them below `before` (exclusive); `more` when older ones remain. */
export async function listVersions(
  db: Db,
  size: number,
  before: bigint | null,
): Promise<{ data: HistoryVersion[]; more: boolean }> {
  const rows = await db.configHistory.findMany({
    where: { ...PUBLISHED, ...(before !== null ? { version: { lt: before } } : {}) },
    orderBy: { version: 'desc' },
    take: size + 1,
    select: FIELDS,
  });
  return { data: rows.slice(0, size).map(published), more: rows.length > size };
}

/** A published version, or null. */
export async function getVersion(db: Db, version: bigint): Promise<HistoryVersion | null> {
  const row = await db.configHistory.findFirst({ where: { version, ...PUBLISHED }, select: FIELDS });
  return row ? published(row) : null;
}

/** The configuration a version holds. */
export async function versionConfig(db: Db, v: HistoryVersion): Promise<GatehouseConfig> {
  const content = await db.configHistoryContent.findUnique({ where: { hash: v.content_hash } });
  if (!content)
    throw new Error(`config history content ${v.content_hash} of version ${v.version} is missing`);
  return unpackConfig(content.gzip);
}

/** The published version below `version` with its config (the recorder's cache when it is that one). */
async function previousVersion(
  db: Db,
  version: bigint,
  cached: { version: bigint; config: GatehouseConfig } | null,
): Promise<{ version: bigint; config: GatehouseConfig } | null> {
  const prev = await db.configHistory.findFirst({
    where: { version: { lt: version }, ...PUBLISHED },
    orderBy: { version: 'desc' },
    select: FIELDS,
  });
  if (!prev) return null;
  if (cached && cached.version === prev.version) return cached;
  return { version: prev.version, config: await versionConfig(db, published(prev)) };
}

/**
 * Completes `version`'s row with its snapshot hash, summary (against the previous published
 * version) and content, in one transaction; the authors and notes of the writes coalesced into it
 * (those since the previous published version) become its author and the summary's prefix.
 * Returns false when another replica recorded it first (a version is recorded once).
 */
export async function recordVersion(
  prisma: PrismaClient,
  entry: { version: bigint; hash: string; config: GatehouseConfig },
  cached: { version: bigint; config: GatehouseConfig } | null,
): Promise<boolean> {
  const packed = await packConfig(entry.config);
  return prisma.$transaction(
    async (tx) => {
      const existing = await tx.configHistory.findUnique({
        where: { version: entry.version },
        select: { hash: true },
      });
      if (existing?.hash) return false;
      const prev = await previousVersion(tx, entry.version, cached);
      // The first version recorded: what it holds (against an empty configuration).
      const changes = summarizeChanges(diffConfigs(prev?.config ?? emptyConfig(), entry.config).changes);
      const writes = await tx.configHistory.findMany({
        where: { version: { gt: prev?.version ?? 0n, lte: entry.version } },
        orderBy: { version: 'asc' },
        select: { author: true, note: true },
      });
      const authors = [...new Set(writes.map((w) => w.author))];
      const notes = [...new Set(writes.flatMap((w) => (w.note ? [w.note] : [])))];
      const data = {
        author: (authors.length ? authors.join(', ') : 'system').slice(0, MAX_AUTHORS),
        hash: entry.hash,
        summary: notes.length ? `${notes.join('; ')}: ${changes}` : changes,
        content_hash: packed.hash,
        recorded_at: new Date(),
      };
      await tx.configHistoryContent.createMany({
        data: [{ hash: packed.hash, gzip: packed.gzip }],
        skipDuplicates: true,
      });
      // `hash: null`: a replica that recorded it meanwhile wins (its row lock orders the two).
      const updated = await tx.configHistory.updateMany({
        where: { version: entry.version, hash: null },
        data,
      });
      if (updated.count > 0) return true;
      const created = await tx.configHistory.createMany({
        data: [{ version: entry.version, ...data }],
        skipDuplicates: true,
      });
      return created.count > 0;
    },
    { timeout: 5 * 60_000, maxWait: 10_000 },
  );
}

/**
 * A declarative file rarely carries `created_at`/`updated_at`; the loader stamps missing ones
 * with the time of the load. Left alone, every reload of an unchanged file would give a new hash
 * and a needless swap. So, on reload, an entity whose timestamps were stamped by this load
 * (not earlier than when it started) takes them from the entity with the same id in the config
 * served: both when its content is unchanged, and `created_at` only when it changed (Kong's
 * meaning: created then, updated now). Timestamps written in the file are kept as they are.
 */
import { canonicalJson } from '@gatehouse/shared/snapshot/canonical';
import type { GatehouseConfig } from '@gatehouse/shared/config/model';

type Entity = { id: string; created_at?: unknown; updated_at?: unknown } & Record<string, unknown>;

const isEntityList = (v: unknown): v is Entity[] =>
  Array.isArray(v) &&
  v.every((e) => typeof e === 'object' && e !== null && typeof (e as Entity).id === 'string');

const content = (e: Entity) => {
  const { created_at: _c, updated_at: _u, ...rest } = e;
  return canonicalJson(rest);
};

/** `next` with the timestamps carried over from `prev` (see above); `stampedFrom` in Unix seconds. */
export function carryTimestamps(
  prev: GatehouseConfig | null,
  next: GatehouseConfig,
  stampedFrom: number,
): GatehouseConfig {
  if (!prev) return next;
  const out: Record<string, unknown> = {};
  for (const [key, list] of Object.entries(next)) {
    const old = (prev as unknown as Record<string, unknown>)[key];
    if (!isEntityList(list) || !isEntityList(old)) {
      out[key] = list;
      continue;
    }
    const byId = new Map(old.map((e) => [e.id, e]));
    out[key] = list.map((e) => {
      const before = byId.get(e.id);
      if (!before || typeof e.created_at !== 'number' || e.created_at < stampedFrom) return e;
      if (content(before) === content(e))
        return { ...e, created_at: before.created_at, updated_at: before.updated_at };
      return { ...e, created_at: before.created_at };
    });
  }
  return out as unknown as GatehouseConfig;
}

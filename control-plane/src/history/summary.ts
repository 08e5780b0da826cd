import { ENTITY_KINDS } from '@gatehouse/shared';
import type { ConfigChanges, EntityChanges } from '../store/index.js';

/**
 * One line saying what a version changed, per entity kind that changed, in the registry's order:
 * `routes: +1 ~2 -0, services: +0 ~1 -0` (created, updated, deleted); `no changes` when none.
 */
export function summarizeChanges(changes: ConfigChanges): string {
  const all = changes as unknown as Record<string, EntityChanges>;
  const parts: string[] = [];
  for (const kind of ENTITY_KINDS) {
    const c = all[kind];
    if (!c || c.created.length + c.updated.length + c.deleted.length === 0) continue;
    parts.push(`${kind}: +${c.created.length} ~${c.updated.length} -${c.deleted.length}`);
  }
  return parts.length ? parts.join(', ') : 'no changes';
}

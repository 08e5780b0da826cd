/**
 * ACL group lookups. A consumer's groups are its `acls` credentials (and, with
 * include_consumer_groups, the names of its consumer groups), indexed once per snapshot.
 * `authenticated_groups` are groups an authentication plugin put in `ctx.shared` for a request
 * without a consumer (Kong's kong.ctx.shared.authenticated_groups).
 */
import type { Acl } from '@gatehouse/shared';

export interface GroupList {
  /** In configuration order, for the upstream header. */
  readonly names: readonly string[];
  readonly set: ReadonlySet<string>;
}

export const EMPTY_GROUPS: GroupList = { names: [], set: new Set() };

export function groupList(names: Iterable<string>): GroupList {
  const set = new Set<string>();
  const ordered: string[] = [];
  for (const n of names) {
    if (set.has(n)) continue;
    set.add(n);
    ordered.push(n);
  }
  return { names: ordered, set };
}

/** consumer id -> its ACL group names (from the `acls` entities). */
export function indexAcls(acls: readonly Acl[]): Map<string, string[]> {
  const byConsumer = new Map<string, string[]>();
  // created_at then id: the order the groups were granted, stable across DPs.
  const sorted = [...acls].sort(
    (a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  for (const acl of sorted) {
    let list = byConsumer.get(acl.consumer.id);
    if (list === undefined) byConsumer.set(acl.consumer.id, (list = []));
    list.push(acl.group);
  }
  return byConsumer;
}

/** The request's authenticated groups, or null when no plugin set any. */
export function authenticatedGroups(shared: Record<string, unknown>): GroupList | null {
  const value = shared.authenticated_groups;
  if (!Array.isArray(value)) return null;
  return groupList(value.filter((v): v is string => typeof v === 'string'));
}

/** Whether any of `wanted` is in `groups`. */
export function inAnyGroup(wanted: readonly string[], groups: GroupList): boolean {
  for (const g of wanted) if (groups.set.has(g)) return true;
  return false;
}

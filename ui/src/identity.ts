/**
 * Who is signed in and what they may do, from the Admin API's `GET /userinfo` (control-plane's
 * rbac/userinfo.ts). With RBAC enforced the answer carries the user's roles and their endpoint
 * permissions; the UI decides what to show with the very matcher the Admin API checks requests
 * with (control-plane/src/rbac/permissions.ts, pure), so a button is hidden exactly when the
 * request behind it would get 403. Without RBAC (or from a CP without `/userinfo`) everything is
 * allowed, as the Admin API then allows it.
 */
import { markRaw } from 'vue';
import {
  PermissionSet,
  type EndpointPermission,
  type RbacAction,
} from '../../control-plane/src/rbac/permissions';

export interface Identity {
  /** The actor's name: the RBAC user, `admin` for the admin token, `anonymous` without a token. */
  name: string;
  /** `rbac-user`, `admin-token`, `anonymous`, or `unknown` (the CP did not say). */
  kind: string;
  rbacEnforced: boolean;
  /** The RBAC user's role names (empty without RBAC). */
  roles: string[];
  /** What the roles allow; null when RBAC is not enforced (everything is). */
  permissions: { allows(method: string, path: string): boolean } | null;
}

export const UNKNOWN_IDENTITY: Identity = {
  name: '',
  kind: 'unknown',
  rbacEnforced: false,
  roles: [],
  permissions: null,
};

const ACTIONS: ReadonlySet<string> = new Set<RbacAction>(['read', 'create', 'update', 'delete']);
const rec = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/** An Identity from a `/userinfo` body, whatever it holds (unknown shapes allow nothing under RBAC). */
export function identityFrom(body: unknown): Identity {
  const b = rec(body);
  const actor = rec(b.actor);
  const rbacEnforced = b.rbac_enforced === true;
  const roles = Array.isArray(b.roles) ? b.roles.map(rec) : [];
  const endpoints: EndpointPermission[] = [];
  for (const role of roles) {
    for (const e of Array.isArray(role.endpoints) ? role.endpoints.map(rec) : []) {
      if (typeof e.endpoint !== 'string' || !Array.isArray(e.actions)) continue;
      const actions = e.actions.flatMap((a) =>
        a === '*' ? [...ACTIONS] : typeof a === 'string' && ACTIONS.has(a) ? [a] : [],
      ) as RbacAction[];
      endpoints.push({ endpoint: e.endpoint, actions, negative: e.negative === true });
    }
  }
  return {
    name: typeof actor.name === 'string' ? actor.name : '',
    kind: typeof actor.kind === 'string' ? actor.kind : 'unknown',
    rbacEnforced,
    roles: roles.flatMap((r) => (typeof r.name === 'string' ? [r.name] : [])),
    // markRaw: a compiled matcher, not state to make reactive.
    permissions: rbacEnforced ? markRaw(new PermissionSet(endpoints)) : null,
  };
}

/** Whether the identity may send `method` to the Admin API `path` (no query string). */
export function allows(identity: Identity, method: string, path: string): boolean {
  return identity.permissions === null || identity.permissions.allows(method, path.split('?')[0] ?? '');
}

/** The header's text for an identity: `alice (read-only)`, `admin token`, `no sign-in`. */
export function identityText(identity: Identity): string {
  switch (identity.kind) {
    case 'rbac-user':
      return `${identity.name} (${identity.roles.length ? identity.roles.join(', ') : 'no roles'})`;
    case 'admin-token':
      return 'admin token';
    case 'anonymous':
      return 'no sign-in (loopback)';
    default:
      return identity.name;
  }
}

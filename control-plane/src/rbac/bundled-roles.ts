/**
 * The roles every Gatehouse has (Kong Enterprise's default roles, plus `operator`). Written to
 * the database at start (rbac-store.ts `seed`), so `/rbac/roles` lists them; they cannot be
 * changed or deleted through the Admin API (their permissions are the ones below).
 */
import { MAX_SEGMENTS, RBAC_ACTIONS, type EndpointPermission, type RbacAction } from './permissions.js';

export interface BundledRole {
  name: string;
  comment: string;
  endpoints: EndpointPermission[];
}

const ALL: readonly RbacAction[] = RBAC_ACTIONS;
const WRITES: readonly RbacAction[] = ['create', 'update', 'delete'];

/** `/<root>`, `/<root>/*`, … down to the deepest path a request is cut to (permissions.ts). */
function subtree(root: string, actions: readonly RbacAction[]): EndpointPermission[] {
  const out: EndpointPermission[] = [];
  for (let depth = 0; depth < MAX_SEGMENTS; depth++)
    out.push({ endpoint: `/${root}${'/*'.repeat(depth)}`, actions, negative: true });
  return out;
}

export const SUPER_ADMIN = 'super-admin';

export const BUNDLED_ROLES: readonly BundledRole[] = [
  {
    name: SUPER_ADMIN,
    comment: 'Full access to every endpoint, RBAC included',
    endpoints: [{ endpoint: '*', actions: ALL, negative: false }],
  },
  {
    name: 'admin',
    comment: 'Full access to every endpoint but RBAC (/rbac)',
    endpoints: [{ endpoint: '*', actions: ALL, negative: false }, ...subtree('rbac', ALL)],
  },
  {
    name: 'operator',
    comment:
      'Reads everything but RBAC and writes the configuration; cannot manage RBAC nor the data-plane registry (/clustering)',
    endpoints: [
      { endpoint: '*', actions: ALL, negative: false },
      ...subtree('rbac', ALL),
      ...subtree('clustering', WRITES),
    ],
  },
  {
    name: 'read-only',
    comment: 'Read access to every endpoint',
    endpoints: [{ endpoint: '*', actions: ['read'], negative: false }],
  },
];

export const BUNDLED_ROLE_NAMES: ReadonlySet<string> = new Set(BUNDLED_ROLES.map((r) => r.name));

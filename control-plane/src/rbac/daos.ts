/**
 * The RBAC tables as the audit log names them (`audit_objects.dao_name`: Kong Enterprise's table
 * names), and the stored columns of each that hold token material. The audit log redacts those
 * columns in every RBAC entry it records (audit/redact.ts); rbac-store.ts records the entries.
 */
export const RBAC_DAOS = ['rbac_users', 'rbac_roles', 'rbac_role_endpoints', 'rbac_user_roles'] as const;

export type RbacDao = (typeof RBAC_DAOS)[number];

/** Per RBAC table, its secret columns (a user's token is stored only as a digest, still redacted). */
export const RBAC_SECRET_COLUMNS: Record<RbacDao, readonly string[]> = {
  rbac_users: ['user_token_hash'],
  rbac_roles: [],
  rbac_role_endpoints: [],
  rbac_user_roles: [],
};

/**
 * The RBAC matrix: what each bundled role is documented to allow (docs/security.md, "RBAC"),
 * written out independently of the code, and the cases it walks — every Admin API route (read
 * from the app's router) × its methods and one it lacks × every bundled role and a role-less user.
 * Used by the RBAC contract (rbac-contract.ts) and the chaos row F23.
 */
export const ROLES = ['super-admin', 'admin', 'operator', 'read-only'] as const;
export type Role = (typeof ROLES)[number];
export const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** What each bundled role is documented to allow; `none`: a user without a role. */
export function roleAllows(role: Role | 'none', method: string, path: string): boolean {
  // Who am I: every signed-in user, whatever its roles (rbac/userinfo.ts).
  if (method === 'GET' && path === '/userinfo') return true;
  const rbac = path === '/rbac' || path.startsWith('/rbac/');
  const write = !['GET', 'HEAD', 'OPTIONS'].includes(method);
  switch (role) {
    case 'super-admin':
      return true;
    case 'admin':
      return !rbac;
    case 'operator':
      return !rbac && !(write && (path === '/clustering' || path.startsWith('/clustering/')));
    case 'read-only':
      return !write;
    case 'none':
      return false;
  }
}

/** A concrete path for an express route path: each parameter a sample value. */
export function samplePath(routePath: string): string {
  return routePath
    .replace(/[{}]/g, '')
    .replace(/\*[A-Za-z_]+/g, 'x/y')
    .replace(/:[A-Za-z_]+/g, 'x');
}

/** Kong's word for a method's action in a 403 message. */
export function actionWord(method: string): string {
  return { GET: 'read', POST: 'create', PUT: 'update', PATCH: 'update', DELETE: 'delete' }[method] ?? 'read';
}

export interface MatrixCase {
  readonly role: Role | 'none';
  readonly method: string;
  readonly path: string;
}

/** Every route × its methods (less HEAD) and one it lacks × every role and `none`. */
export function matrixCases(routes: readonly { path: string; methods: readonly string[] }[]): MatrixCase[] {
  const cases: MatrixCase[] = [];
  for (const route of routes) {
    const path = samplePath(route.path);
    // The route's methods, and one it lacks (405 where allowed: the check still runs first).
    const lacking = METHODS.find((m) => !route.methods.includes(m));
    const methods = [...route.methods.filter((m) => m !== 'HEAD'), ...(lacking ? [lacking] : [])];
    for (const method of methods)
      for (const role of [...ROLES, 'none'] as const) cases.push({ role, method, path });
  }
  return cases;
}

/**
 * Whether an answer is right for its case: an allowed one passes the check (not 401/403, no
 * 5xx), a denied one gets 403 with Kong's message naming the user `matrix-<role>`.
 */
export function matrixAnswerRight(c: MatrixCase, status: number, message: unknown): boolean {
  return roleAllows(c.role, c.method, c.path)
    ? status !== 401 && status !== 403 && status < 500
    : status === 403 &&
        message === `matrix-${c.role}, you do not have permissions to ${actionWord(c.method)} this resource`;
}

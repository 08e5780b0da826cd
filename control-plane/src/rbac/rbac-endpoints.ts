/**
 * The RBAC Admin API, in Kong Enterprise's shapes (docs/admin-api.md, "RBAC"):
 *
 * - `/rbac/users` GET, POST `{name, user_token?, user_token_expires_at?, enabled?, comment?}`
 *   (201; the answer carries `user_token` this once, a generated one when none was given).
 * - `/rbac/users/{name or id}` GET, PATCH (a new `user_token` rotates the token), DELETE (204).
 * - `/rbac/users/{u}/roles` GET `{user, roles}`, POST `{roles: "a,b"}` (201 `{user, roles}`),
 *   DELETE `{roles}` (204). `/rbac/users/{u}/permissions` GET: what the roles add up to.
 * - `/rbac/roles` GET, POST `{name, comment?}`; `/rbac/roles/{name or id}` GET, PATCH, DELETE.
 * - `/rbac/roles/{r}/endpoints` GET, POST `{endpoint, actions, negative?, workspace?, comment?}`;
 *   `/rbac/roles/{r}/endpoints/{workspace}/{endpoint}` GET, PATCH, DELETE (`.../default/*` is the
 *   endpoint `*`).
 *
 * Tokens are never answered but on creation. Bundled roles cannot be changed (400); the last
 * enabled super admin cannot be deleted, disabled or lose the role (400), so RBAC cannot lock
 * every administrator out.
 */
import express, { type Request, type Router } from 'express';
import { RbacErrors } from '@gatehouse/shared';
import { AdminErrors, methodNotAllowed } from '../admin/errors.js';
import { auditScope } from '../audit/middleware.js';
import { SUPER_ADMIN } from './bundled-roles.js';
import {
  endpointChanges,
  newEndpoint,
  newUser,
  roleInput,
  roleNames,
  userChanges,
  workspaceProblem,
} from './rbac-input.js';
import type { EndpointRow, RbacStore, RoleRow, UserRow } from './rbac-store.js';

const seconds = (d: Date | null) => (d === null ? null : Math.floor(d.getTime() / 1000));

export function userJson(u: UserRow) {
  return {
    comment: u.comment,
    created_at: seconds(u.created_at),
    enabled: u.enabled,
    id: u.id,
    last_used_at: seconds(u.last_used_at),
    name: u.name,
    updated_at: seconds(u.updated_at),
    user_token_expires_at: seconds(u.user_token_expires_at),
    user_token_ident: u.user_token_ident,
  };
}

export function roleJson(r: RoleRow) {
  return {
    comment: r.comment,
    created_at: seconds(r.created_at),
    id: r.id,
    is_bundled: r.is_bundled,
    name: r.name,
    updated_at: seconds(r.updated_at),
  };
}

export function endpointJson(e: EndpointRow) {
  return {
    actions: e.actions,
    comment: e.comment,
    created_at: seconds(e.created_at),
    endpoint: e.endpoint,
    negative: e.negative,
    role: { id: e.role_id },
    updated_at: seconds(e.updated_at),
    workspace: e.workspace,
  };
}

/** What a user's roles add up to, by workspace and endpoint (`/rbac/users/{u}/permissions`, `/userinfo`). */
export async function permissionsJson(store: RbacStore, user: UserRow) {
  const endpoints: Record<string, Record<string, { actions: string[]; negative: boolean }>> = {};
  for (const role of await store.rolesOf(user)) {
    for (const e of await store.listEndpoints(role)) {
      const ws = (endpoints[e.workspace] ??= Object.create(null) as Record<string, never>);
      const prev = ws[e.endpoint];
      // As the check decides: a negative permission wins over a positive one on the same endpoint.
      ws[e.endpoint] =
        prev === undefined || prev.negative === e.negative
          ? { actions: [...new Set([...(prev?.actions ?? []), ...e.actions])], negative: e.negative }
          : e.negative
            ? { actions: e.actions, negative: true }
            : prev;
    }
  }
  return { endpoints };
}

const list = <T>(data: T[]) => ({ data, next: null });

const param = (req: Request, name: string): string => {
  const v = req.params[name];
  return typeof v === 'string' ? v : '';
};

/** `{workspace}/{endpoint…}` of an endpoint's path: `*` alone is the endpoint `*`. */
function endpointKey(req: Request): { workspace: string; endpoint: string } {
  const workspace = param(req, 'workspace');
  const problem = workspaceProblem(workspace);
  if (problem) throw AdminErrors.notFound('Not found');
  const splat = req.params.endpoint as unknown;
  const parts = Array.isArray(splat) ? splat.map(String) : [typeof splat === 'string' ? splat : ''];
  const joined = parts.filter((p) => p !== '').join('/');
  return { workspace, endpoint: joined === '*' ? '*' : `/${joined}` };
}

/** DELETE bodies are not read by the Admin API's parsers (Kong reads this one): JSON or form, small. */
const deleteBody = [express.json({ limit: '16kb' }), express.urlencoded({ extended: false, limit: '16kb' })];

export function rbacEndpoints(store: RbacStore): Router {
  const router = express.Router();

  async function isLastSuperAdmin(user: UserRow): Promise<boolean> {
    if (!user.enabled) return false;
    const roles = await store.rolesOf(user);
    if (!roles.some((r) => r.name === SUPER_ADMIN)) return false;
    const others = (await store.listUsers()).filter((u) => u.id !== user.id && u.enabled);
    for (const other of others)
      if ((await store.rolesOf(other)).some((r) => r.name === SUPER_ADMIN)) return false;
    return true;
  }
  const lastSuperAdmin = (what: string) =>
    RbacErrors.invalid(`cannot ${what} the last enabled ${SUPER_ADMIN}: give another user the role first`);

  router
    .route('/rbac/users')
    .get(async (_req, res) => {
      res.json(list((await store.listUsers()).map(userJson)));
    })
    .post(async (req, res) => {
      const input = newUser(req.body);
      const user = await store.createUser(input);
      res.status(201).json({ ...userJson(user), user_token: input.token });
    })
    .all(methodNotAllowed);

  router
    .route('/rbac/users/:user')
    .get(async (req, res) => {
      res.json(userJson(await store.getUser(param(req, 'user'))));
    })
    .patch(async (req, res) => {
      const changes = userChanges(req.body);
      if (changes.enabled === false && (await isLastSuperAdmin(await store.getUser(param(req, 'user')))))
        throw lastSuperAdmin('disable');
      res.json(userJson(await store.updateUser(param(req, 'user'), changes)));
    })
    .delete(async (req, res) => {
      const user = await store.getUser(param(req, 'user')).catch(() => undefined);
      if (user && (await isLastSuperAdmin(user))) throw lastSuperAdmin('delete');
      await store.deleteUser(param(req, 'user'));
      res.status(204).end();
    })
    .all(methodNotAllowed);

  router
    .route('/rbac/users/:user/roles')
    .get(async (req, res) => {
      const user = await store.getUser(param(req, 'user'));
      res.json({ user: userJson(user), roles: (await store.rolesOf(user)).map(roleJson) });
    })
    .post(async (req, res) => {
      const names = roleNames(req.body);
      const user = await store.getUser(param(req, 'user'));
      const roles = await store.addRoles(user, names);
      res.status(201).json({ user: userJson(user), roles: roles.map(roleJson) });
    })
    // auditScope: the parsers' callbacks leave the request's async context (audit/middleware.ts).
    .delete(...deleteBody, auditScope, async (req, res) => {
      const fromQuery = typeof req.query.roles === 'string' ? { roles: req.query.roles } : undefined;
      const names = roleNames(fromQuery ?? req.body);
      const user = await store.getUser(param(req, 'user'));
      if (names.includes(SUPER_ADMIN) && (await isLastSuperAdmin(user)))
        throw lastSuperAdmin(`take ${SUPER_ADMIN} from`);
      await store.removeRoles(user, names);
      res.status(204).end();
    })
    .all(methodNotAllowed);

  router
    .route('/rbac/users/:user/permissions')
    .get(async (req, res) => {
      res.json(await permissionsJson(store, await store.getUser(param(req, 'user'))));
    })
    .all(methodNotAllowed);

  router
    .route('/rbac/roles')
    .get(async (_req, res) => {
      res.json(list((await store.listRoles()).map(roleJson)));
    })
    .post(async (req, res) => {
      const input = roleInput(req.body, true);
      res.status(201).json(roleJson(await store.createRole(input.name!, input.comment ?? null)));
    })
    .all(methodNotAllowed);

  router
    .route('/rbac/roles/:role')
    .get(async (req, res) => {
      res.json(roleJson(await store.getRole(param(req, 'role'))));
    })
    .patch(async (req, res) => {
      res.json(roleJson(await store.updateRole(param(req, 'role'), roleInput(req.body, false))));
    })
    .delete(async (req, res) => {
      await store.deleteRole(param(req, 'role'));
      res.status(204).end();
    })
    .all(methodNotAllowed);

  router
    .route('/rbac/roles/:role/endpoints')
    .get(async (req, res) => {
      const role = await store.getRole(param(req, 'role'));
      res.json(list((await store.listEndpoints(role)).map(endpointJson)));
    })
    .post(async (req, res) => {
      const input = newEndpoint(req.body);
      const role = await store.getRole(param(req, 'role'));
      res.status(201).json(endpointJson(await store.createEndpoint(role, input)));
    })
    .all(methodNotAllowed);

  router
    .route('/rbac/roles/:role/endpoints/:workspace/*endpoint')
    .get(async (req, res) => {
      const role = await store.getRole(param(req, 'role'));
      const { workspace, endpoint } = endpointKey(req);
      res.json(endpointJson(await store.getEndpoint(role, workspace, endpoint)));
    })
    .patch(async (req, res) => {
      const changes = endpointChanges(req.body);
      const role = await store.getRole(param(req, 'role'));
      const { workspace, endpoint } = endpointKey(req);
      res.json(endpointJson(await store.updateEndpoint(role, workspace, endpoint, changes)));
    })
    .delete(async (req, res) => {
      const role = await store.getRole(param(req, 'role'));
      const { workspace, endpoint } = endpointKey(req);
      await store.deleteEndpoint(role, workspace, endpoint);
      res.status(204).end();
    })
    .all(methodNotAllowed);

  return router;
}

/**
 * `GET /userinfo` (Kong Enterprise's name for "who am I", which Kong Manager reads after signing
 * in): the request's actor and, when RBAC is enforced, its RBAC user, roles with their endpoint
 * permissions, and what they add up to (`permissions.endpoints`, as `/rbac/users/{u}/permissions`).
 * The admin UI reads it to show who is signed in and to hide what the roles do not allow.
 *
 * Any signed-in user may read it, whatever its roles (access.ts exempts `GET /userinfo` from the
 * endpoint check, not from the token check): it tells a user only about itself.
 */
import express, { type Router } from 'express';
import { actorOf } from '../admin/actor.js';
import { methodNotAllowed } from '../admin/errors.js';
import { endpointJson, permissionsJson, roleJson, userJson } from './rbac-endpoints.js';
import type { RbacStore } from './rbac-store.js';

export const USERINFO_PATH = '/userinfo';

/** Whether a request is the one RBAC lets every signed-in user make (its path as express saw it). */
export function isUserinfoRead(method: string, path: string): boolean {
  return (method === 'GET' || method === 'HEAD') && path === USERINFO_PATH;
}

export function userinfoEndpoint(store: RbacStore | undefined): Router {
  const router = express.Router();
  router
    .route(USERINFO_PATH)
    .get(async (req, res) => {
      const actor = actorOf(req);
      if (actor.kind !== 'rbac-user' || !store) {
        res.json({ actor, rbac_enforced: false, rbac_user: null, roles: [], permissions: null });
        return;
      }
      const user = await store.getUser(actor.name);
      const roles = [];
      for (const role of await store.rolesOf(user))
        roles.push({ ...roleJson(role), endpoints: (await store.listEndpoints(role)).map(endpointJson) });
      res.json({
        actor,
        rbac_enforced: true,
        rbac_user: userJson(user),
        roles,
        permissions: await permissionsJson(store, user),
      });
    })
    .all(methodNotAllowed);
  return router;
}

/**
 * Who made an Admin API request. The access layer (admin token today, RBAC users when
 * `GATEHOUSE_ENFORCE_RBAC=on`) sets it once per request; the audit log and the config history read
 * it. Kept beside the request in a WeakMap, so no field is added to express's request object.
 */
export type AdminActorKind = 'anonymous' | 'admin-token' | 'rbac-user' | 'cli';

export interface AdminActor {
  /** Shown in audit entries and config versions: the RBAC user's name, `admin` for the token. */
  readonly name: string;
  readonly kind: AdminActorKind;
}

/** A request on a loopback Admin API with no token configured. */
export const ANONYMOUS_ACTOR: AdminActor = Object.freeze({ name: 'anonymous', kind: 'anonymous' });
/** A request that presented the configured admin token (`GATEHOUSE_ADMIN_TOKEN`). */
export const ADMIN_TOKEN_ACTOR: AdminActor = Object.freeze({ name: 'admin', kind: 'admin-token' });

const actors = new WeakMap<object, AdminActor>();

export function setActor(req: object, actor: AdminActor): void {
  actors.set(req, actor);
}

export function actorOf(req: object): AdminActor {
  return actors.get(req) ?? ANONYMOUS_ACTOR;
}

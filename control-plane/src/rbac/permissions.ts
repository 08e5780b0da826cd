/**
 * RBAC endpoint permissions (Kong Enterprise's `rbac_role_endpoints`): which Admin API paths a
 * role may read, create, update or delete. Pure: no HTTP, no database.
 *
 * Matching (docs/security.md, "RBAC"):
 * - A request's action comes from its method: GET, HEAD and OPTIONS read; POST creates; PUT and
 *   PATCH update; DELETE deletes. Any other method needs all four actions.
 * - An endpoint is `*` (every path) or a path whose segments are literals or `*`; `*` stands for
 *   exactly one segment (`/services/*` matches `/services/foo`, not `/services` nor
 *   `/services/foo/routes`). Requests are matched on their path, percent-decoded per segment,
 *   without empty segments, so every route, including any added later, is checked: nothing is
 *   allowed unless a permission matches (deny by default).
 * - As Kong's routes match at most six segments (`/rbac/roles/{r}/endpoints/{ws}/*`, the last one
 *   a splat), a path's segments from the sixth on count as one: `*` in sixth place covers the rest.
 * - The most specific matching permission decides: more literal segments win, `*` alone is the
 *   least specific; between equally specific ones a `negative` permission wins.
 * - A positive permission's literals match case-sensitively, a negative one's ignoring case
 *   (the Admin API routes ignore case): either way a mismatch can only deny more.
 */

export const RBAC_ACTIONS = ['read', 'create', 'update', 'delete'] as const;
export type RbacAction = (typeof RBAC_ACTIONS)[number];

/** Segments a path is cut into: the sixth holds the rest (Kong's routes end in a splat there). */
export const MAX_SEGMENTS = 6;

/** The one workspace this gateway has (Kong Enterprise's `default`); `*` means every workspace. */
export const WORKSPACES = ['default', '*'] as const;

export interface EndpointPermission {
  /** `*`, or a path starting with `/` (segments literal or `*`). */
  endpoint: string;
  actions: readonly RbacAction[];
  negative: boolean;
}

const METHOD_ACTIONS: Record<string, RbacAction> = {
  GET: 'read',
  HEAD: 'read',
  OPTIONS: 'read',
  POST: 'create',
  PUT: 'update',
  PATCH: 'update',
  DELETE: 'delete',
};

/** The actions a request method needs (Kong's): one, or all four for a method Kong does not map. */
export function actionsOf(method: string): readonly RbacAction[] {
  const action = METHOD_ACTIONS[method.toUpperCase()];
  return action ? [action] : RBAC_ACTIONS;
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** A path as matched: non-empty segments, the sixth onwards joined into one. */
function cut(segments: string[]): string[] {
  if (segments.length <= MAX_SEGMENTS) return segments;
  return [...segments.slice(0, MAX_SEGMENTS - 1), segments.slice(MAX_SEGMENTS - 1).join('/')];
}

/** A request path (`req.path`: no query string) as the segments permissions are matched against. */
export function requestSegments(path: string): string[] {
  return cut(
    path
      .split('/')
      .filter((s) => s !== '')
      .map(decode),
  );
}

/** Why `endpoint` is not a usable endpoint pattern, or undefined. */
export function endpointProblem(endpoint: string): string | undefined {
  if (endpoint === '*') return undefined;
  if (endpoint.length > 512) return 'must be at most 512 characters';
  if (!endpoint.startsWith('/')) return 'must be "*" or a path starting with "/"';
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (/[\x00-\x20\x7f?#]/.test(endpoint)) return 'must not hold spaces, control characters, "?" or "#"';
  return undefined;
}

/** An endpoint as stored: `*`, or `/` + its non-empty segments (a trailing or doubled slash dropped). */
export function normaliseEndpoint(endpoint: string): string {
  if (endpoint === '*') return '*';
  return (
    '/' +
    endpoint
      .split('/')
      .filter((s) => s !== '')
      .join('/')
  );
}

interface CompiledPermission {
  segments: string[] | null; // null: `*`, every path
  literals: number;
  actions: ReadonlySet<RbacAction>;
  negative: boolean;
}

/** Permissions compiled once for many checks (a user's roles' endpoints). */
export class PermissionSet {
  private readonly compiled: CompiledPermission[];

  constructor(permissions: readonly EndpointPermission[]) {
    this.compiled = permissions.map((p) => {
      const segments = p.endpoint === '*' ? null : cut(p.endpoint.split('/').filter((s) => s !== ''));
      return {
        segments,
        literals: segments ? segments.filter((s) => s !== '*').length : -1,
        actions: new Set(p.actions),
        negative: p.negative,
      };
    });
  }

  /** Whether a request with this method and path is allowed (every action the method needs). */
  allows(method: string, path: string): boolean {
    return this.deniedAction(method, path) === undefined;
  }

  /** The first action the request needs that is not allowed on its path, or undefined. */
  deniedAction(method: string, path: string): RbacAction | undefined {
    const segments = requestSegments(path);
    return actionsOf(method).find((a) => !this.allowsAction(a, segments));
  }

  private allowsAction(action: RbacAction, segments: readonly string[]): boolean {
    let best = -2;
    let allowed = false;
    for (const p of this.compiled) {
      if (!p.actions.has(action) || !matches(p, segments)) continue;
      if (p.literals > best) {
        best = p.literals;
        allowed = !p.negative;
      } else if (p.literals === best && p.negative) {
        allowed = false;
      }
    }
    return allowed;
  }
}

function matches(p: CompiledPermission, segments: readonly string[]): boolean {
  if (p.segments === null) return true;
  if (p.segments.length !== segments.length) return false;
  for (let i = 0; i < segments.length; i++) {
    const want = p.segments[i]!;
    if (want === '*') continue;
    const got = segments[i]!;
    if (p.negative ? want.toLowerCase() !== got.toLowerCase() : want !== got) return false;
  }
  return true;
}

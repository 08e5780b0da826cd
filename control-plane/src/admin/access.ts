/**
 * Who may talk to the Admin API (docs/security.md, "Admin API access"). One middleware, mounted
 * before everything else:
 *
 * 1. Host: on a loopback listen (or when `--admin-hosts` is set) the Host header must name a
 *    loopback address, the listen address or a configured host — a DNS-rebinding page reaches
 *    127.0.0.1 under its own name and is refused here (403).
 * 2. Origin: the allowed origins are the admin UI's (`--admin-gui-listen`, merged in by the CP)
 *    and the `--admin-origins` entries. They get Kong's CORS headers on every answer
 *    (`Access-Control-Allow-Origin: <origin>`, `-Credentials: true`), and their preflights pass
 *    without the token to the route's `methodNotAllowed`, which answers OPTIONS with 204 (cors.ts).
 *    A browser write (any method but GET/HEAD/OPTIONS) carrying another `Origin` than the Admin
 *    API's own (scheme + Host), or `Sec-Fetch-Site: cross-site`, and any other origin's preflight,
 *    is refused (403). Requests without these headers (curl, scripts) are not browser requests.
 * 3. Token: when a token is configured, every request but an allowed origin's CORS preflight must
 *    carry it (`Kong-Admin-Token: <t>` or `Authorization: Bearer <t>`), compared in constant
 *    time; missing or wrong → 401 with Kong's message.
 *    With RBAC enforced (`GATEHOUSE_ENFORCE_RBAC=on`) the token is an RBAC user's instead: it
 *    must belong to an enabled user and not have expired (else 401), and the user's roles must
 *    allow the request's action on its path (else 403, Kong's message). Every path is checked
 *    here, before any route runs, so a route added later is denied until a role allows it;
 *    only `GET /userinfo` (the user's own identity and permissions) needs no permission.
 * 4. Throttling: a client address with too many failed tokens in a window gets 429 until the
 *    window ends (login-throttle.ts).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import type { Request, RequestHandler } from 'express';
import { ConfigErrors, RbacErrors } from '@gatehouse/shared';
import type { PermissionSet } from '../rbac/permissions.js';
import { isUserinfoRead } from '../rbac/userinfo.js';
import {
  ADMIN_GUI_LISTEN,
  ADMIN_HOSTS,
  ADMIN_TOKEN,
  ADMIN_TOKEN_FILE,
  ADMIN_ORIGINS,
  adminTokenProblem,
  parseAdminOrigins,
  settingName,
  type GuiListener,
} from './access-settings.js';
import { ADMIN_TOKEN_ACTOR, setActor } from './actor.js';
import { allowOrigin, isPreflight } from './cors.js';
import { AdminErrors } from './errors.js';
import type { LoginThrottle } from './login-throttle.js';

/** What enforcing RBAC needs: a token's enabled, unexpired user and its permissions (rbac/rbac-store.ts). */
export interface RbacAuthenticator {
  authenticate(token: string): Promise<{ user: { name: string }; permissions: PermissionSet } | undefined>;
}

export interface AdminAccessPolicy {
  /** The admin token; unset = no token asked for (allowed only on a loopback listen). */
  token?: string;
  /**
   * Browser origins allowed besides the Admin API's own: `--admin-origins` and, merged in by the
   * CP, the admin UI's (`adminGuiOrigins`).
   */
  origins?: readonly string[];
  /** Host names the Admin API answers to besides loopback names and the listen address (`--admin-hosts`). */
  hosts?: readonly string[];
  /** The host the Admin API listens on (default 127.0.0.1): decides whether Host is checked. */
  listenHost?: string;
  /**
   * RBAC enforced (`--enforce-rbac on`): every request needs an RBAC user's token and its roles'
   * permission; the one admin token then only seeds the first super admin.
   */
  rbac?: RbacAuthenticator;
  /** Login throttling of failed tokens (none when unset). */
  throttle?: LoginThrottle;
}

/** The 429 answer to a client with too many failed tokens. */
export const TOO_MANY_FAILURES = 'Too many failed authentication attempts, try again later';

/** Kong's answer to a missing or wrong admin token (Kong Enterprise RBAC). */
export const INVALID_CREDENTIALS = 'Invalid credentials. Token or User credentials required';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The host name of a Host header or a configured host, lower-cased, without port or trailing dot;
 * IPv6 in brackets in its canonical form (`[::1]`). Undefined when it is not a host[:port].
 */
export function hostName(value: string): string | undefined {
  const text = value.trim().toLowerCase();
  const v6 = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(text);
  if (v6) return isIPv6(v6[1]!) ? new URL(`http://[${v6[1]}]/`).hostname : undefined;
  const name = /^([a-z0-9_-]+(?:\.[a-z0-9_-]+)*)\.?(?::\d{1,5})?$/.exec(text);
  return name ? name[1] : undefined;
}

/** Whether a host name (as `hostName` gives it, or a bare IPv6 literal) is a loopback address. */
export function isLoopbackName(name: string): boolean {
  if (name === 'localhost') return true;
  if (isIPv4(name)) return name.startsWith('127.');
  const bare = name.startsWith('[') ? name.slice(1, -1) : name;
  if (!isIPv6(bare)) return false;
  const canonical = new URL(`http://[${bare}]/`).hostname;
  // ::1, and IPv4-mapped 127.0.0.0/8 (::ffff:7fxx:xxxx)
  return canonical === '[::1]' || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(canonical);
}

/** Whether a listen host is loopback-only (the token is optional only then). */
export function isLoopbackListen(host: string): boolean {
  const name = settingHost(host);
  return name !== undefined && isLoopbackName(name);
}

/** SHA-256 of a token: both sides of the comparison have one length, so timingSafeEqual applies. */
function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Constant-time check of a presented token against the configured one's digest. */
export function tokenMatches(expected: Buffer, presented: string | undefined): boolean {
  // Hash even when nothing was presented, so a missing token costs what a wrong one does.
  const ok = timingSafeEqual(digest(presented ?? ''), expected);
  return ok && presented !== undefined;
}

/** The token a request presents: `Kong-Admin-Token`, else `Authorization: Bearer`. */
function presentedToken(req: Request): string | undefined {
  const header = req.headers['kong-admin-token'];
  if (typeof header === 'string') return header.trim();
  const auth = req.headers.authorization;
  const bearer = typeof auth === 'string' ? /^bearer[ \t]+(\S+)[ \t]*$/i.exec(auth) : null;
  return bearer ? bearer[1] : undefined;
}

/** A configured host (`--admin-hosts`, the listen host): a name or IP literal without port. */
function settingHost(text: string): string | undefined {
  const t = text.trim();
  if (isIPv6(t)) return hostName(`[${t}]`);
  if (t.startsWith('[') ? !t.endsWith(']') : t.includes(':')) return undefined;
  return hostName(t);
}

function listedHosts(policy: AdminAccessPolicy): Set<string> {
  const hosts = new Set<string>();
  for (const entry of policy.hosts ?? []) {
    const name = settingHost(entry);
    if (!name)
      throw ConfigErrors.invalidSetting(
        `invalid setting ${settingName(ADMIN_HOSTS)}: "${entry}" is not a host name (no scheme, no port)`,
      );
    hosts.add(name);
  }
  const listen = settingHost(policy.listenHost ?? '127.0.0.1');
  if (listen && listen !== '0.0.0.0' && listen !== '[::]') hosts.add(listen);
  return hosts;
}

/** The Admin API's access middleware for `policy`. Throws GH_ERR_CONFIG_INVALID_SETTING for a bad policy. */
export function adminAccess(policy: AdminAccessPolicy = {}): RequestHandler {
  if (policy.token !== undefined) {
    const problem = adminTokenProblem(policy.token);
    if (problem) throw ConfigErrors.invalidSetting(`invalid admin token: ${problem}`);
  }
  const expected = policy.token === undefined ? undefined : digest(policy.token);
  const origins = new Set(parseAdminOrigins(policy.origins ?? []));
  const hosts = listedHosts(policy);
  const checkHost = isLoopbackListen(policy.listenHost ?? '127.0.0.1') || (policy.hosts?.length ?? 0) > 0;
  const { rbac, throttle } = policy;

  return (req, res, next) => {
    const host = req.headers.host;
    if (checkHost && host !== undefined) {
      const name = hostName(host);
      if (name === undefined || !(isLoopbackName(name) || hosts.has(name)))
        throw AdminErrors.hostRefused(
          `This Admin API does not answer to that Host (add the name to ${settingName(ADMIN_HOSTS)})`,
        );
    }

    const origin = req.headers.origin;
    res.vary('Origin');
    if (typeof origin === 'string' && origins.has(origin)) {
      allowOrigin(res, origin);
      // Browsers never send the token on a preflight. Only `methodNotAllowed` answers an OPTIONS
      // (a route's handlers are for its other methods), so this runs nothing but that answer.
      if (isPreflight(req)) {
        next();
        return;
      }
    } else {
      const write = !SAFE_METHODS.has(req.method);
      const crossSite = req.headers['sec-fetch-site'] === 'cross-site';
      if (isPreflight(req) || (write && (crossSite || (origin !== undefined && origin !== ownOrigin(req)))))
        throw AdminErrors.originRefused(
          `Cross-origin request refused: the Origin is neither this Admin API, its admin UI ` +
            `(${settingName(ADMIN_GUI_LISTEN)}) nor listed in ${settingName(ADMIN_ORIGINS)}`,
        );
    }

    if (!expected && !rbac) {
      next();
      return;
    }
    const client = throttle ? (req.socket.remoteAddress ?? '') : '';
    const wait = throttle?.retryAfter(client) ?? 0;
    if (wait > 0) {
      res.setHeader('Retry-After', String(wait));
      throw AdminErrors.tooManyFailures(TOO_MANY_FAILURES);
    }
    const token = presentedToken(req);
    if (!rbac) {
      if (!tokenMatches(expected!, token)) {
        throttle?.failed(client);
        throw AdminErrors.unauthorized(INVALID_CREDENTIALS);
      }
      setActor(req, ADMIN_TOKEN_ACTOR);
      next();
      return;
    }
    return rbac.authenticate(token ?? '').then((auth) => {
      if (!auth || token === undefined) {
        throttle?.failed(client);
        throw AdminErrors.unauthorized(INVALID_CREDENTIALS);
      }
      const name = auth.user.name;
      setActor(req, { name, kind: 'rbac-user' });
      // Every signed-in user may ask who it is (rbac/userinfo.ts): the token was checked above.
      const denied = isUserinfoRead(req.method, req.path)
        ? undefined
        : auth.permissions.deniedAction(req.method, req.path);
      if (denied)
        throw RbacErrors.forbidden(`${name}, you do not have permissions to ${denied} this resource`);
      next();
    });
  };
}

/**
 * The browser origins of the admin UI listeners: for a loopback or unspecified host the names a
 * browser on this machine uses (`localhost`, `127.0.0.1`, and `[::1]` for an IPv6 host), else
 * the host itself. A UI reached under another name (a DNS name on 0.0.0.0) goes in `--admin-origins`.
 */
export function adminGuiOrigins(listeners: readonly GuiListener[]): string[] {
  const origins = new Set<string>();
  for (const l of listeners) {
    const scheme = l.ssl ? 'https' : 'http';
    const v6 = l.host.includes(':');
    const hosts =
      l.host === '0.0.0.0' || l.host === '::' || isLoopbackName(v6 ? `[${l.host}]` : l.host.toLowerCase())
        ? ['localhost', '127.0.0.1', ...(v6 ? ['[::1]'] : [])]
        : [v6 ? `[${l.host}]` : l.host];
    for (const h of hosts) origins.add(new URL(`${scheme}://${h}:${l.port}`).origin);
  }
  return [...origins];
}

/** The Admin API's own origin as the request reached it: its scheme and Host. */
function ownOrigin(req: Request): string | undefined {
  const scheme = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  const host = req.headers.host;
  if (host === undefined || hostName(host) === undefined) return undefined;
  try {
    return new URL(`${scheme}://${host.trim()}`).origin;
  } catch {
    return undefined;
  }
}

/**
 * Checks a policy before the Admin API starts: its settings are usable, and a non-loopback listen
 * has a token or enforces RBAC (there is no setting to go without one). Throws GH_ERR_CONFIG_INVALID_SETTING naming
 * the setting.
 */
export function checkAdminAccess(
  policy: AdminAccessPolicy & { listenHost: string; rbacEnforced?: boolean },
): void {
  adminAccess(policy);
  if (
    policy.token === undefined &&
    policy.rbac === undefined &&
    !policy.rbacEnforced &&
    !isLoopbackListen(policy.listenHost)
  )
    throw ConfigErrors.invalidSetting(
      `the Admin API listens on ${policy.listenHost}, which is not a loopback address: set an admin token ` +
        `with ${settingName(ADMIN_TOKEN)} or ${settingName(ADMIN_TOKEN_FILE)} (clients send it as ` +
        'Kong-Admin-Token), or listen on 127.0.0.1',
    );
}

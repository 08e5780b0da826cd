/**
 * session (Kong's, priority 1900): an encrypted cookie that stands in for the credential of an
 * earlier authentication.
 *
 * - `response` (Kong's header_filter): when an auth plugin of this request authenticated a
 *   credential (not the anonymous consumer) and no valid session cookie of that same consumer
 *   and credential came in, a new session cookie is issued (and the `remember` cookie, when on).
 * - `access` (runs before every auth plugin by priority): a valid cookie (sealed with this
 *   instance's key, of this audience, within its timeouts, naming a consumer that still exists)
 *   authenticates the request as that consumer and credential. An auth plugin with `anonymous`
 *   then does nothing (Kong's logical OR); one without `anonymous` still asks for its own
 *   credential, as in Kong. A logout request (method in `logout_methods` and the
 *   `logout_query_arg` / `logout_post_arg`) with a valid cookie is answered 200 and the cookie
 *   cleared. Renewal as lua-resty-session: a new cookie once 3/4 of `rolling_timeout` passed, an
 *   idling touch once a minute of inactivity passed.
 *
 * Cookies that do not open (garbage, tampered, expired, another secret or audience) are ignored:
 * the request goes on to the auth plugins. The cookie format is in cookie.ts.
 */
import type { Consumer } from '@gatehouse/shared';
import { cookieValue } from '../../proxy/cookies.js';
import { definePlugin, type PluginContext, type SnapshotView } from '../api.js';
import { parseBody } from '../runtime/auth.js';
import { deriveKey, expired, newSessionId, seal, unseal, type SessionData, type Timeouts } from './cookie.js';
import { sessionSpec, type SessionConfig } from './schema.js';

/** lua-resty-session's touch threshold: an idling renewal at most once a minute. */
const TOUCH_THRESHOLD = 60;
/** Methods whose body is read for `logout_post_arg` (Kong's READ_BODY_METHODS). */
const READ_BODY_METHODS: ReadonlySet<string> = new Set(['DELETE', 'PATCH', 'POST', 'PUT']);
const EXPIRE = '; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0';
/** lua-resty-session's MAX_TTL for a persistent cookie's Max-Age. */
const MAX_TTL = 34_560_000;
/** lua-resty-session's response / request header names. */
const HEADER_NAMES: Readonly<Record<string, string>> = {
  id: 'Session-Id',
  audience: 'Session-Audience',
  subject: 'Session-Subject',
  timeout: 'Session-Timeout',
  'idling-timeout': 'Session-Idling-Timeout',
  'rolling-timeout': 'Session-Rolling-Timeout',
  'absolute-timeout': 'Session-Absolute-Timeout',
};

interface State {
  readonly conf: SessionConfig;
  readonly key: Buffer;
  readonly snapshot: SnapshotView;
  /** `; Domain=…; Path=…; SameSite=…; Secure; HttpOnly`, as lua-resty-session orders them. */
  readonly attributes: string;
  readonly timeouts: Timeouts;
  readonly rememberTimeouts: Timeouts;
  readonly logoutMethods: ReadonlySet<string>;
}

/** What this request's access phase found and decided, for its response phase. */
interface RequestSession {
  /** The session the cookie carried (after renewal), or null. */
  data: SessionData | null;
  /** Cookies to send: name → full Set-Cookie value. */
  readonly cookies: Map<string, string>;
}

const requests = new WeakMap<PluginContext, RequestSession>();

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

function attributesOf(conf: SessionConfig): string {
  let a = '';
  const domain = conf.cookie_domain;
  if (domain !== null && domain !== '' && domain !== 'localhost') a += `; Domain=${domain}`;
  a += `; Path=${conf.cookie_path}; SameSite=${conf.cookie_same_site}`;
  // SameSite=None is sent by browsers only with Secure (lua-resty-session forces it too).
  if (conf.cookie_secure || conf.cookie_same_site === 'None') a += '; Secure';
  if (conf.cookie_http_only) a += '; HttpOnly';
  return a;
}

/** The value of a session header property (lua-resty-session's get_property), or undefined. */
function property(name: string, d: SessionData, now: number, t: Timeouts): string | undefined {
  const absolute = now - d.ct;
  const rolling = absolute - d.ro;
  const left = {
    idling: t.idling === 0 ? undefined : t.idling - (rolling - d.io),
    rolling: t.rolling === 0 ? undefined : t.rolling - rolling,
    absolute: t.absolute === 0 ? undefined : t.absolute - absolute,
  };
  switch (name) {
    case 'id':
      return d.sid;
    case 'audience':
      return d.aud;
    case 'subject':
      return d.sub ?? undefined;
    case 'timeout': {
      const all = [left.idling, left.rolling, left.absolute].filter((v): v is number => v !== undefined);
      return all.length === 0 ? undefined : String(Math.min(...all));
    }
    case 'idling-timeout':
      return left.idling === undefined ? undefined : String(left.idling);
    case 'rolling-timeout':
      return left.rolling === undefined ? undefined : String(left.rolling);
    case 'absolute-timeout':
      return left.absolute === undefined ? undefined : String(left.absolute);
    default:
      return undefined;
  }
}

function setHeaders(
  names: readonly string[] | null,
  d: SessionData,
  st: State,
  set: (name: string, value: string) => void,
): void {
  if (names === null) return;
  const now = nowSeconds();
  for (const n of names) {
    const v = property(n, d, now, st.timeouts);
    if (v !== undefined) set(HEADER_NAMES[n]!, v);
  }
}

/** Opens the cookie `name` of the request: its data if valid, else null (reason logged). */
function open(ctx: PluginContext, st: State, name: string, t: Timeouts): SessionData | null {
  const value = cookieValue(ctx.request.headerValues('cookie'), name);
  if (value === undefined) return null;
  const unsealed = unseal(st.key, name, value);
  let reason = unsealed.data === null ? unsealed.reason : expired(unsealed.data, nowSeconds(), t);
  if (reason === null && unsealed.data!.aud !== st.conf.audience) reason = 'missing session audience';
  if (reason !== null) {
    ctx.log.debug({ plugin: 'session', reason }, 'session not present');
    return null;
  }
  return unsealed.data;
}

function cookie(
  st: State,
  name: string,
  value: string,
  persistentFor: number | null,
  createdAt: number,
): string {
  if (persistentFor === null) return `${name}=${value}${st.attributes}`;
  const maxAge = persistentFor === 0 || persistentFor > MAX_TTL ? MAX_TTL : persistentFor;
  const expires = new Date((createdAt + maxAge) * 1000).toUTCString();
  return `${name}=${value}${st.attributes}; Expires=${expires}; Max-Age=${maxAge}`;
}

/** Seals `data` into the cookie `name` of this request's answer (a too-large session is logged, not sent). */
function save(
  ctx: PluginContext,
  st: State,
  rs: RequestSession,
  name: string,
  data: SessionData,
  persistent: boolean,
): void {
  const value = seal(st.key, name, data);
  if (value === null) {
    ctx.log.warn({ plugin: 'session' }, 'session too large for a cookie: not saved');
    return;
  }
  const ttl = persistent ? st.conf.remember_rolling_timeout : null;
  rs.cookies.set(name, cookie(st, name, value, ttl, data.ct));
}

function clear(st: State, rs: RequestSession): void {
  rs.cookies.set(st.conf.cookie_name, `${st.conf.cookie_name}=${st.attributes}${EXPIRE}`);
  if (st.conf.remember)
    rs.cookies.set(st.conf.remember_cookie_name, `${st.conf.remember_cookie_name}=${st.attributes}${EXPIRE}`);
}

/** Kong's session.logout(conf): a logout method with the query argument (or, when enabled, the body argument). */
function isLogout(ctx: PluginContext, st: State): boolean | Promise<boolean> {
  const conf = st.conf;
  const method = ctx.request.method;
  if (!st.logoutMethods.has(method)) return false;
  if (
    conf.logout_query_arg !== null &&
    ctx.request.rawQuery !== '' &&
    ctx.request.query.has(conf.logout_query_arg)
  )
    return true;
  const postArg = conf.logout_post_arg;
  if (!conf.read_body_for_logout || postArg === null || !READ_BODY_METHODS.has(method)) return false;
  return ctx.request.body().then(
    (body) => {
      const args = parseBody(ctx.request.header('content-type'), body);
      const v = args === null ? undefined : Object.hasOwn(args, postArg) ? args[postArg] : undefined;
      // Lua truthiness: anything but nil and false.
      return v !== undefined && v !== null && v !== false;
    },
    () => false,
  );
}

function authenticate(
  ctx: PluginContext,
  st: State,
  rs: RequestSession,
  data: SessionData,
  consumer: Consumer,
): void {
  setHeaders(st.conf.request_headers, data, st, (n, v) => ctx.setUpstreamHeader(n, v));
  ctx.shared.authenticated_session = data;
  ctx.authenticate(consumer, { id: data.k, type: data.ty, identifier: data.i, consumerId: consumer.id });
  if (data.g !== null && data.g.length > 0) {
    ctx.shared.authenticated_groups = [...data.g];
    ctx.setUpstreamHeader('x-authenticated-groups', data.g.join(', '));
  }
  rs.data = data;
}

function access(ctx: PluginContext, st: State, rs: RequestSession): void | Promise<void> {
  const conf = st.conf;
  const now = nowSeconds();
  let data = open(ctx, st, conf.cookie_name, st.timeouts);
  let restored = false;
  if (data === null && conf.remember) {
    const remembered = open(ctx, st, conf.remember_cookie_name, st.rememberTimeouts);
    if (remembered !== null) {
      // A persistent session starts a new session (and renews the remember cookie).
      save(
        ctx,
        st,
        rs,
        conf.remember_cookie_name,
        { ...remembered, sid: newSessionId(), ro: now - remembered.ct, io: 0 },
        true,
      );
      data = { ...remembered, sid: newSessionId(), ct: now, ro: 0, io: 0 };
      restored = true;
    }
  }
  if (data === null) return;
  const session = data;
  const logout = isLogout(ctx, st);
  const go = (out: boolean): void => {
    if (out) {
      ctx.log.debug({ plugin: 'session' }, 'session logging out');
      rs.cookies.clear();
      clear(st, rs);
      ctx.respond(200);
      return;
    }
    const consumer = st.snapshot.consumer(session.c);
    if (consumer === undefined) {
      ctx.log.debug({ plugin: 'session' }, 'failed to find consumer, destroying session');
      rs.cookies.clear();
      clear(st, rs);
      return;
    }
    let current = session;
    if (restored) {
      save(ctx, st, rs, conf.cookie_name, current, false);
    } else {
      const rolling = now - current.ct - current.ro;
      if (conf.rolling_timeout > 0 && rolling > Math.ceil(conf.rolling_timeout * 0.75)) {
        current = { ...current, sid: newSessionId(), ro: now - current.ct, io: 0 };
        save(ctx, st, rs, conf.cookie_name, current, false);
      } else if (conf.idling_timeout > 0 && rolling - current.io > TOUCH_THRESHOLD) {
        current = { ...current, io: rolling };
        save(ctx, st, rs, conf.cookie_name, current, false);
      }
    }
    authenticate(ctx, st, rs, current, consumer);
  };
  if (typeof logout === 'boolean') return go(logout);
  return logout.then(go);
}

/** Kong's header_filter: a new session for a request some auth plugin authenticated. */
function response(ctx: PluginContext, st: State, rs: RequestSession | undefined): void {
  const cookies = rs?.cookies ?? new Map<string, string>();
  const credential = ctx.credential;
  const consumer = ctx.consumer;
  const known = rs?.data ?? null;
  if (
    credential !== null &&
    consumer !== null &&
    !(known !== null && known.k === credential.id && known.c === consumer.id)
  ) {
    const now = nowSeconds();
    const groups = ctx.shared.authenticated_groups;
    const data: SessionData = {
      sid: newSessionId(),
      ct: now,
      ro: 0,
      io: 0,
      aud: st.conf.audience,
      sub: consumer.username ?? consumer.custom_id ?? consumer.id,
      c: consumer.id,
      k: credential.id,
      ty: credential.type,
      i: credential.identifier,
      g: Array.isArray(groups) && groups.every((g) => typeof g === 'string') ? groups : null,
    };
    const fresh: RequestSession = { data, cookies };
    save(ctx, st, fresh, st.conf.cookie_name, data, false);
    if (st.conf.remember) save(ctx, st, fresh, st.conf.remember_cookie_name, data, true);
    setHeaders(st.conf.response_headers, data, st, (n, v) => ctx.setResponseHeader(n, v));
  } else if (known !== null && credential !== null) {
    setHeaders(st.conf.response_headers, known, st, (n, v) => ctx.setResponseHeader(n, v));
  }
  if (cookies.size === 0) return;
  // Keep the upstream's own cookies; ours replace any of the same name (lua-resty-session's merge).
  const names = [...cookies.keys()];
  const kept = (ctx.response?.headerValues('set-cookie') ?? []).filter(
    (c) => !names.some((n) => c.startsWith(`${n}=`)),
  );
  ctx.setResponseHeader('Set-Cookie', [...kept, ...cookies.values()]);
}

export default definePlugin({
  ...sessionSpec,
  init(conf, { snapshot }): State {
    return {
      conf,
      key: deriveKey(conf.secret),
      snapshot,
      attributes: attributesOf(conf),
      timeouts: {
        idling: conf.idling_timeout,
        rolling: conf.rolling_timeout,
        absolute: conf.absolute_timeout,
      },
      rememberTimeouts: {
        idling: 0,
        rolling: conf.remember_rolling_timeout,
        absolute: conf.remember_absolute_timeout,
      },
      logoutMethods: new Set(conf.logout_methods ?? []),
    };
  },
  access(ctx, st) {
    const rs: RequestSession = { data: null, cookies: new Map() };
    requests.set(ctx, rs);
    return access(ctx, st, rs);
  },
  response(ctx, st) {
    response(ctx, st, requests.get(ctx));
  },
});

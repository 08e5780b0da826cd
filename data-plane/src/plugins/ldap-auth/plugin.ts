/**
 * ldap-auth (Kong's, priority 1200): `Authorization: ldap base64(username:password)` (or
 * Proxy-Authorization, tried first; the scheme is `header_type`), checked by a simple bind as
 * `<attribute>=<username>,<base_dn>` (the username RFC 4514-escaped). No consumer is attached,
 * as in Kong: the upstream gets `X-Credential-Identifier: <username>` and no `X-Consumer-*`.
 * Bind results are cached per data plane for `cache_ttl` (cache.ts); failed binds are throttled
 * per user. An LDAP server that cannot be asked answers Kong's 500.
 */
import { definePlugin, type PluginContext } from '../api.js';
import { ProxyErrorCode } from '../../proxy/errors.js';
import { alreadyAuthenticated, fail, unauthorized } from '../runtime/auth.js';
import { respondError } from '../runtime/gateway-errors.js';
import { LdapBinder, LdapUnavailable, type LdapTarget } from './binder.js';
import { LdapAuthCache, resultKey } from './cache.js';
import { parseLdapCredentials } from './credentials.js';
import { bindDn } from './dn.js';
import { ldapAuthSpec, type LdapAuthConfig } from './schema.js';

/** One cache and one connection pool per server for the whole process (kept across snapshots). */
export const cache = new LdapAuthCache();
const binders = new Map<string, LdapBinder>();
/** Binds under way by result key: concurrent requests with the same credentials share one bind. */
const inflight = new Map<string, Promise<boolean>>();

function binderFor(target: LdapTarget): LdapBinder {
  const k = JSON.stringify(target);
  let b = binders.get(k);
  if (b === undefined) {
    b = new LdapBinder(target);
    binders.set(k, b);
  }
  return b;
}

/** Closes every idle LDAP connection of the process (tests' teardown). */
export function closeIdleLdapConnections(): void {
  for (const b of binders.values()) b.closeIdle();
}

interface State {
  readonly conf: LdapAuthConfig;
  readonly binder: LdapBinder;
  readonly challenge: Record<string, string>;
}

interface Verdict {
  readonly username: string;
  readonly key: string;
  readonly ok: boolean;
}

/** What a header value says without asking LDAP: a verdict, or the bind still to make. */
type Step = Verdict | { readonly bind: () => Promise<Verdict> };

function step(state: State, value: string): Step | null {
  const conf = state.conf;
  const creds = parseLdapCredentials(value, conf.header_type);
  if (creds === null) return null;
  const { username, password } = creds;
  const key = resultKey(conf, username, password);
  const cached = cache.result(key);
  if (cached !== undefined) return { username, key, ok: cached };
  if (!cache.mayBind(conf, username)) return { username, key, ok: false };
  return {
    bind: async () => {
      let pending = inflight.get(key);
      if (pending === undefined) {
        pending = state.binder
          .bind(bindDn(conf.attribute, username, conf.base_dn), password)
          .then((ok) => {
            cache.remember(key, ok, conf.cache_ttl);
            if (!ok) cache.failed(conf, username);
            return ok;
          })
          .finally(() => inflight.delete(key));
        inflight.set(key, pending);
      }
      return { username, key, ok: await pending };
    },
  };
}

/** Runs the binds, then answers; an LDAP server that cannot be asked is Kong's 500. */
function guarded(ctx: PluginContext, state: State, verdict: () => Promise<Verdict | null>): Promise<void> {
  return verdict().then(
    (v) => finish(ctx, state, v),
    (err: unknown) => {
      if (!(err instanceof LdapUnavailable)) throw err;
      ctx.log.error(
        { plugin: 'ldap-auth', host: state.conf.ldap_host, port: state.conf.ldap_port, err: err.message },
        'LDAP server unavailable',
      );
      respondError(ctx, ProxyErrorCode.INTERNAL);
    },
  );
}

async function settle(s: Step | null): Promise<Verdict | null> {
  if (s === null) return null;
  return 'bind' in s ? s.bind() : s;
}

function finish(ctx: PluginContext, state: State, verdict: Verdict | null): void {
  const conf = state.conf;
  if (verdict === null || !verdict.ok) {
    const reason = verdict === null ? 'malformed credentials' : 'bind refused or throttled';
    fail(ctx, conf.anonymous, unauthorized('Unauthorized', reason, state.challenge), 'ldap-auth');
    return;
  }
  if (conf.hide_credentials) {
    ctx.removeUpstreamHeader('authorization');
    ctx.removeUpstreamHeader('proxy-authorization');
  }
  ctx.authenticate(null, {
    id: verdict.key,
    type: 'ldap-auth',
    identifier: verdict.username,
    consumerId: null,
  });
}

export default definePlugin({
  ...ldapAuthSpec,
  init(conf, { log }): State {
    // Kong's defaults: plain LDAP, TLS unverified. Said once per snapshot (docs/security.md).
    if (!conf.ldaps && !conf.start_tls)
      log.warn(
        { plugin: 'ldap-auth', host: conf.ldap_host },
        'ldap-auth sends passwords to the LDAP server in clear (set ldaps or start_tls)',
      );
    else if (!conf.verify_ldap_host)
      log.warn(
        { plugin: 'ldap-auth', host: conf.ldap_host },
        "ldap-auth does not verify the LDAP server's certificate (set verify_ldap_host)",
      );
    // Kong writes the default scheme capitalised in the challenge (`LDAP`), any other as given.
    const scheme = conf.header_type === 'ldap' ? 'LDAP' : conf.header_type;
    return {
      conf,
      binder: binderFor({
        host: conf.ldap_host,
        port: conf.ldap_port,
        ldaps: conf.ldaps,
        startTls: conf.start_tls,
        verify: conf.verify_ldap_host,
        timeout: conf.timeout,
        keepalive: conf.keepalive,
      }),
      challenge: {
        'WWW-Authenticate': conf.realm === null ? scheme : `${scheme} realm="${conf.realm}"`,
      },
    };
  },
  access(ctx, state) {
    const conf = state.conf;
    if (alreadyAuthenticated(ctx, conf.anonymous)) return;
    const proxyAuth = ctx.request.header('proxy-authorization');
    const auth = ctx.request.header('authorization');
    if (proxyAuth === undefined && auth === undefined) {
      fail(ctx, conf.anonymous, unauthorized('Unauthorized', 'no credentials', state.challenge), 'ldap-auth');
      return;
    }
    // Proxy-Authorization first, then Authorization when the first did not authenticate (Kong).
    // Cached verdicts finish in the same tick; only a bind is awaited.
    const first = proxyAuth === undefined ? null : step(state, proxyAuth);
    if (first !== null && 'bind' in first) {
      return guarded(ctx, state, async () => {
        const v = await first.bind();
        return v.ok || auth === undefined ? v : ((await settle(step(state, auth))) ?? v);
      });
    }
    if (first?.ok === true || auth === undefined) {
      finish(ctx, state, first);
      return;
    }
    const second = step(state, auth);
    if (second !== null && 'bind' in second) return guarded(ctx, state, second.bind);
    finish(ctx, state, second ?? first);
  },
});

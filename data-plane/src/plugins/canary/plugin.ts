/**
 * canary (Kong Enterprise, priority 20, access phase): sends a share of a route's traffic to an
 * alternate destination — `upstream_host` (a host, or an upstream entity's name) and/or
 * `upstream_port`, and/or the path `upstream_uri`. Which requests go is split.ts: a hash of the
 * consumer / client IP / a header / a cookie (Gatehouse) puts each request in one of `steps`
 * buckets, a fixed `percentage` or a timed ramp (`start`, `duration`) opens buckets; `hash`
 * `allow`/`deny` send by ACL group instead, `none` draws per request.
 * `canary_by_header_name` (then `canary_by_cookie_name`, Gatehouse) `always|never` overrides the
 * split; with `upstream_fallback`, a canary upstream with no healthy target is skipped.
 * The destination is compiled once per snapshot (InitContext.destination).
 */
import type { Consumer } from '@gatehouse/shared';
import { definePlugin, type InitContext, type PluginContext, type UpstreamDestination } from '../api.js';
import { authenticatedGroups, indexAcls } from '../acl/groups.js';
import { canarySpec, type CanaryConfig } from './schema.js';
import { bucketOf, fixedRollout, inCanary, timedRollout, type Rollout } from './split.js';
import { cookieValue, unquote } from '../../proxy/cookies.js';

type Hash = CanaryConfig['hash'];

export interface CanaryState {
  readonly hash: Hash;
  readonly hashHeader: string | null;
  readonly hashCookie: string | null;
  readonly rollout: Rollout;
  /** `allow`/`deny`: the groups, as a set. */
  readonly groups: ReadonlySet<string>;
  /** consumer id -> its ACL groups (shared with the acl plugin's index). */
  readonly aclsOf: (consumerId: string) => readonly string[] | undefined;
  readonly canaryByHeader: string | null;
  readonly canaryByCookie: string | null;
  /** null when only the path changes. */
  readonly destination: UpstreamDestination | null;
  readonly uri: string | null;
  readonly fallback: boolean;
  /** Milliseconds since the epoch (injected by tests). */
  readonly now: () => number;
  /** A number in [0, 1) (`hash: none`; injected by tests). */
  readonly random: () => number;
}

export interface CanaryClock {
  readonly now?: () => number;
  readonly random?: () => number;
}

/** The plugin's state for `config` (what `init` returns; tests inject the clock and the draw). */
export function canaryState(config: CanaryConfig, init: InitContext, clock: CanaryClock = {}): CanaryState {
  const { snapshot, instance } = init;
  let rollout: Rollout;
  if (config.percentage != null) {
    rollout = fixedRollout(config.steps, config.percentage);
  } else {
    // Unset start: the ramp begins when the plugin was created (Kong 3.2+ writes the time in).
    const start = config.start ?? snapshot.config.plugins.find((p) => p.id === instance.id)?.created_at ?? 0;
    rollout = timedRollout(config.steps, start, config.duration);
  }
  const byConsumer = snapshot.memo('acl:groups-by-consumer', () => indexAcls(snapshot.config.acls));
  const host = config.upstream_host ?? null;
  const port = config.upstream_port ?? null;
  return {
    hash: config.hash,
    hashHeader: config.hash_header ?? null,
    hashCookie: config.hash_cookie ?? null,
    rollout,
    groups: new Set(config.groups ?? []),
    aclsOf: (id) => byConsumer.get(id),
    canaryByHeader: config.canary_by_header_name ?? null,
    canaryByCookie: config.canary_by_cookie_name ?? null,
    destination: host === null && port === null ? null : init.destination(host, port),
    uri: config.upstream_uri ?? null,
    fallback: config.upstream_fallback,
    now: clock.now ?? Date.now,
    random: clock.random ?? Math.random,
  };
}

function inGroups(ctx: PluginContext, state: CanaryState, consumer: Consumer | null): boolean {
  if (consumer !== null) {
    const acls = state.aclsOf(consumer.id);
    if (acls !== undefined) for (const g of acls) if (state.groups.has(g)) return true;
    return false;
  }
  const groups = authenticatedGroups(ctx.shared);
  if (groups !== null) for (const g of groups.names) if (state.groups.has(g)) return true;
  return false;
}

/** The value of the first cookie `name` on the request's Cookie headers, without quotes, or undefined. */
function requestCookie(ctx: PluginContext, name: string): string | undefined {
  const v = cookieValue(ctx.request.headerValues('cookie'), name);
  return v === undefined ? undefined : unquote(v);
}

/** The value hashed into a bucket: the consumer, the header, the cookie or the client IP (the fallback). */
function hashValue(ctx: PluginContext, state: CanaryState): string {
  if (state.hash === 'consumer') {
    const id = ctx.consumer?.id ?? ctx.credential?.consumerId;
    if (id != null) return id;
  } else if (state.hash === 'header') {
    const v = ctx.request.header(state.hashHeader!);
    if (v !== undefined && v !== '') return v;
  } else if (state.hash === 'cookie') {
    const v = requestCookie(ctx, state.hashCookie!);
    if (v !== undefined && v !== '') return v;
  }
  return ctx.request.clientIp;
}

/** Whether this request goes to the canary (before the health fallback). */
export function wantsCanary(ctx: PluginContext, state: CanaryState): boolean {
  if (state.canaryByHeader !== null) {
    const v = ctx.request.header(state.canaryByHeader);
    if (v === 'always') return true;
    if (v === 'never') return false;
  }
  if (state.canaryByCookie !== null) {
    const v = requestCookie(ctx, state.canaryByCookie);
    if (v === 'always') return true;
    if (v === 'never') return false;
  }
  switch (state.hash) {
    case 'allow':
      return inGroups(ctx, state, ctx.consumer);
    case 'deny':
      return !inGroups(ctx, state, ctx.consumer);
    case 'none':
      return inCanary(state.rollout, Math.floor(state.random() * state.rollout.steps), state.now());
    default:
      return inCanary(state.rollout, bucketOf(hashValue(ctx, state), state.rollout.steps), state.now());
  }
}

export default definePlugin({
  ...canarySpec,
  init: (config, init) => canaryState(config, init),
  access(ctx, state) {
    if (!wantsCanary(ctx, state)) return;
    const destination = state.destination;
    if (destination !== null) {
      if (state.fallback && !destination.healthy()) return;
      ctx.setUpstreamDestination(destination);
    }
    if (state.uri !== null) ctx.setUpstreamPath(state.uri);
  },
});

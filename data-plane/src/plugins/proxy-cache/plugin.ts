/**
 * proxy-cache (Kong priority 100, strategy `memory`): answers a cacheable request from the
 * worker's memory store (X-Cache-Status: Hit) or sends it upstream (Miss, or Refresh when the
 * entry is too old) and stores the response when it is cacheable; anything else is a Bypass.
 * Kong's rules (kong/plugins/proxy-cache/handler.lua): the request's method must be listed
 * and, with cache_control, it must carry no `no-store`/`no-cache` and no Authorization; the
 * response's status and Content-Type must be listed and, with cache_control, it must not be
 * `private`/`no-store`/`no-cache` and must state a lifetime (s-maxage, max-age or Expires),
 * which is then its TTL instead of cache_ttl.
 *
 * Beyond Kong: concurrent misses of one key go upstream once — the first leads, the others wait
 * for its response and are answered from the entry it stored (Hit), or each go upstream when
 * it was not cacheable. Only responses the plugin may store are buffered (bufferResponse is
 * decided per response from its head).
 */
import type { HeaderValue, PluginContext, ResponseHead, ResponseView } from '../api.js';
import { definePlugin } from '../api.js';
import { buildCacheKey, headersKey, paramsKey, parseQuery, prefixOf } from './cache-key.js';
import { numeric, parseDirectives, resourceTtl, type Directives } from './cache-control.js';
import { mediaTypeMatches, parseMediaType, type MediaType } from './mime.js';
import { proxyCacheSpec } from './schema.js';
import { metricStore } from '../../observe/metric-store.js';
import { proxyCacheStore, replayHeaders, type CacheStore, type CachedResponse } from './store.js';

interface State {
  readonly id: string;
  readonly store: CacheStore;
  readonly methods: ReadonlySet<string>;
  readonly codes: ReadonlySet<number>;
  readonly types: readonly MediaType[];
  readonly cacheTtl: number;
  readonly cacheControl: boolean;
  readonly storageTtl: number | null;
  readonly ignoreUriCase: boolean;
  readonly varyQuery: readonly string[] | null;
  readonly varyHeaders: readonly string[] | null;
  readonly showAge: boolean;
  readonly showStatus: boolean;
  readonly showKey: boolean;
  /** Every diagnostic header is on: no need to look for Kong-Debug. */
  readonly showAll: boolean;
}

/** A request that went upstream to be cached: its key and, when it leads the misses, `settle`. */
interface Candidate {
  readonly key: string;
  settle: ((outcome: CachedResponse | null) => void) | null;
}

const candidates = new WeakMap<PluginContext, Candidate>();

const NO_DIRECTIVES: Directives = new Map();
const EMPTY = Buffer.alloc(0);

function bodiless(ctx: PluginContext, status: number): boolean {
  return ctx.request.method === 'HEAD' || status === 204 || status === 304;
}

/**
 * Kong's hop_by_hop_headers (content-length included) and its ratelimit-remaining rule, plus the
 * headers this plugin and the gateway set themselves: not stored, never replayed.
 */
const NOT_STORED = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailers',
  'transfer-encoding',
  'upgrade',
  'content-length',
  'age',
  'x-cache-status',
  'x-cache-key',
  'server',
]);

function stored(name: string): boolean {
  const lower = name.toLowerCase();
  return !NOT_STORED.has(lower) && !lower.includes('ratelimit-remaining');
}

function debug(ctx: PluginContext): boolean {
  return ctx.request.header('kong-debug') !== undefined;
}

function setHeader(ctx: PluginContext, shown: boolean, name: string, value: string): void {
  if (shown || debug(ctx)) ctx.setResponseHeader(name, value);
}

function requestDirectives(ctx: PluginContext, state: State): Directives {
  return state.cacheControl ? parseDirectives(ctx.request.headerValues('cache-control')) : NO_DIRECTIVES;
}

/** Kong's cacheable_request. */
function cacheableRequest(ctx: PluginContext, state: State, cc: Directives): boolean {
  if (!state.methods.has(ctx.request.method)) return false;
  if (
    state.cacheControl &&
    (cc.has('no-store') || cc.has('no-cache') || ctx.request.header('authorization') !== undefined)
  )
    return false;
  return true;
}

function contentTypeMatches(state: State, contentType: string | undefined): boolean {
  if (contentType === undefined || contentType === '') return false;
  const actual = parseMediaType(contentType);
  if (actual === null) return false;
  for (const expected of state.types) if (mediaTypeMatches(actual, expected)) return true;
  return false;
}

/** Kong's cacheable_response: the TTL to keep it for, or null when it is not cacheable. */
function responseTtl(
  state: State,
  res: ResponseHead,
  cc: Directives,
  expires: string | undefined,
  now: number,
): number | null {
  if (!state.codes.has(res.status)) return null;
  if (!contentTypeMatches(state, res.header('content-type'))) return null;
  if (!state.cacheControl) return state.cacheTtl;
  if (cc.has('private') || cc.has('no-store') || cc.has('no-cache')) return null;
  const ttl = resourceTtl(cc, expires, now);
  return ttl > 0 ? ttl : null;
}

function lastValue(res: ResponseView, name: string): string | undefined {
  const all = res.headerValues(name);
  return all.length === 0 ? undefined : all[all.length - 1];
}

/** Whole seconds since the entry was stored (Kong compares ngx.time() seconds). */
function ageOf(entry: CachedResponse, now: number): number {
  return Math.max(0, Math.floor((now - entry.timestamp) / 1000));
}

/** Kong: with cache_control the client's max-age / max-stale / min-fresh, else cache_ttl. */
function needsRefresh(state: State, cc: Directives, entry: CachedResponse, now: number): boolean {
  const age = ageOf(entry, now);
  if (!state.cacheControl) return age > state.cacheTtl;
  const maxAge = numeric(cc, 'max-age');
  if (maxAge !== undefined && age > maxAge) return true;
  const maxStale = numeric(cc, 'max-stale');
  if (maxStale !== undefined && age - entry.ttl > maxStale) return true;
  const minFresh = numeric(cc, 'min-fresh');
  if (minFresh !== undefined && entry.ttl - age < minFresh) return true;
  return false;
}

function serveHit(ctx: PluginContext, state: State, key: string, entry: CachedResponse, now: number): void {
  const headers = Object.assign(Object.create(null) as Record<string, HeaderValue>, entry.headers);
  const all = state.showAll || debug(ctx);
  if (state.showAge || all) headers['Age'] = String(ageOf(entry, now));
  if (state.showStatus || all) headers['X-Cache-Status'] = 'Hit';
  if (state.showKey || all) headers['X-Cache-Key'] = key;
  metricStore.countPlugin('proxy-cache', 'Hit');
  ctx.respond(entry.status, entry.body, headers);
}

/** The request goes upstream and its response may be stored; it leads unless a miss already does. */
function goUpstream(ctx: PluginContext, state: State, key: string, status: string, lead: boolean): void {
  const settle = lead && state.store.inFlight(key) === undefined ? state.store.lead(key) : null;
  candidates.set(ctx, { key, settle });
  metricStore.countPlugin('proxy-cache', status);
  setHeader(ctx, state.showStatus, 'X-Cache-Status', status);
}

function keyOf(ctx: PluginContext, state: State): string {
  const r = ctx.request;
  const uri = state.ignoreUriCase ? r.rawPath.toLowerCase() : r.rawPath;
  return buildCacheKey(
    prefixOf(ctx.consumer?.id ?? null, ctx.route.id),
    r.method,
    uri,
    // No query: no argument to list, whatever vary_query_params says.
    r.rawQuery === '' ? '' : paramsKey(parseQuery(r.rawQuery), state.varyQuery),
    headersKey((name) => r.headerValues(name), state.varyHeaders),
  );
}

export default definePlugin({
  ...proxyCacheSpec,
  init(config, ctx): State {
    return {
      id: ctx.instance.id,
      store: proxyCacheStore(),
      methods: new Set(config.request_method),
      codes: new Set(config.response_code),
      types: config.content_type.map(parseMediaType).filter((t): t is MediaType => t !== null),
      cacheTtl: config.cache_ttl,
      cacheControl: config.cache_control,
      storageTtl: config.storage_ttl,
      ignoreUriCase: config.ignore_uri_case === true,
      varyQuery: config.vary_query_params,
      varyHeaders: config.vary_headers,
      showAge: config.response_headers.age,
      showStatus: config.response_headers['X-Cache-Status'],
      showKey: config.response_headers['X-Cache-Key'],
      showAll:
        config.response_headers.age &&
        config.response_headers['X-Cache-Status'] &&
        config.response_headers['X-Cache-Key'],
    };
  },

  access(ctx, state) {
    const cc = requestDirectives(ctx, state);
    if (!cacheableRequest(ctx, state, cc)) {
      metricStore.countPlugin('proxy-cache', 'Bypass');
      setHeader(ctx, state.showStatus, 'X-Cache-Status', 'Bypass');
      return;
    }
    const key = keyOf(ctx, state);
    const store = state.store;
    const now = store.now();
    const entry = store.get(key);
    // A hit carries X-Cache-Key in its own headers; every other answer gets it here.
    if (entry !== undefined && !needsRefresh(state, cc, entry, now)) {
      serveHit(ctx, state, key, entry, now);
      return;
    }
    setHeader(ctx, state.showKey, 'X-Cache-Key', key);
    if (entry !== undefined) {
      goUpstream(ctx, state, key, 'Refresh', true);
      return;
    }
    // RFC 7234 5.2.1.7: the client wants a stored response only.
    if (state.cacheControl && cc.has('only-if-cached')) {
      ctx.respond(504);
      return;
    }
    const flight = store.inFlight(key);
    if (flight === undefined) {
      goUpstream(ctx, state, key, 'Miss', true);
      return;
    }
    // Another miss of this key is upstream: wait for it.
    return flight.then((outcome) => {
      if (outcome !== null) serveHit(ctx, state, key, outcome, store.now());
      else goUpstream(ctx, state, key, 'Miss', false);
    });
  },

  bufferResponse(state, head) {
    const now = state.store.now();
    const cc = state.cacheControl ? parseDirectives(listOf(head.header('cache-control'))) : NO_DIRECTIVES;
    if (responseTtl(state, head, cc, head.header('expires'), now) === null) return false;
    const length = head.header('content-length');
    return length === undefined || state.store.fits(Number(length) || 0);
  },

  response(ctx, state) {
    const candidate = candidates.get(ctx);
    const res = ctx.response;
    if (candidate === undefined || res === null) return;
    const settle = candidate.settle;
    candidate.settle = null;
    const now = state.store.now();
    const cc = state.cacheControl ? parseDirectives(res.headerValues('cache-control')) : NO_DIRECTIVES;
    // The runtime never buffers a HEAD response, a 204 or a 304: they have no body to keep.
    const body = res.body ?? (bodiless(ctx, res.status) ? EMPTY : null);
    const ttl = body === null ? null : responseTtl(state, res, cc, lastValue(res, 'expires'), now);
    if (ttl === null || body === null) {
      setHeader(ctx, state.showStatus, 'X-Cache-Status', 'Bypass');
      settle?.(null);
      return;
    }
    const entry: CachedResponse = {
      status: res.status,
      headers: replayHeaders(res.headerPairs().filter(([name]) => stored(name))),
      body,
      timestamp: now,
      ttl,
      pluginId: state.id,
    };
    state.store.set(candidate.key, entry, state.storageTtl ?? ttl);
    settle?.(entry);
  },

  log(ctx) {
    // The leading miss ended without a response to store (upstream error, client gone): the
    // waiting ones go upstream themselves.
    const candidate = candidates.get(ctx);
    if (candidate?.settle != null) {
      candidate.settle(null);
      candidate.settle = null;
    }
  },
});

function listOf(value: string | undefined): string[] {
  return value === undefined ? [] : [value];
}

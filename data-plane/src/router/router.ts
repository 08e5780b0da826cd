/**
 * Kong's traditional router (kong/router/traditional.lua), compiled once per configuration into
 * immutable structures.
 *
 * Each (route, path) pair becomes one entry (Kong splits routes by path to sort them). Entries are
 * put in one global priority order — Kong's category order (number of matched attribute kinds,
 * then which kinds: host > header > uri > method > sni), then Kong's `sort_routes` (submatch
 * weight, number of headers, regex_priority for regex paths, longest prefix, created_at) — and the
 * first entry in that order that fully matches a request wins.
 *
 * Lookup cost is independent of the number of routes: entries are bucketed by plain host (entries
 * without plain-only hosts go to the "any host" bucket), and inside a bucket prefix paths sit in a
 * radix tree (prefix-tree.ts); only regex paths and path-less entries are scanned, in priority
 * order, and every scan stops as soon as it cannot beat the best match found so far.
 *
 * Size: what many routes have alike is held once per router (a method set, the empty header
 * list), so an entry costs its own object and little else.
 */
import { ROUTE_PROTOCOLS } from '@gatehouse/shared/entities/route';
import { compilePcre } from '@gatehouse/shared/regex/pcre';
import type { GatehouseConfig, Route, Service } from '@gatehouse/shared/config/model';
import { compileWildcardHost, hasPort, hostWithPort, hostWithoutPort, lowerHost } from './host.js';
import { RouterErrors } from './errors.js';
import { PrefixTree, type PrefixVisitor } from './prefix-tree.js';

/** Kong's MATCH_RULES bits: the category of an entry is the set of attribute kinds it has. */
export const MatchRule = {
  HOST: 0x40,
  HEADER: 0x20,
  URI: 0x10,
  METHOD: 0x08,
  SNI: 0x04,
} as const;

/** Kong's MATCH_SUBRULES bits, compared inside one category. */
export const SubRule = {
  HAS_REGEX_URI: 0x01,
  PLAIN_HOSTS_ONLY: 0x02,
  HAS_WILDCARD_HOST_PORT: 0x04,
} as const;

interface HeaderRule {
  readonly name: string;
  readonly values: ReadonlySet<string>;
  readonly pattern: RegExp | null;
}

/**
 * What the proxy needs to know about a route on every request, computed once when the router is
 * compiled (never per request).
 */
export interface RouteFlags {
  /** The route takes plain-HTTP requests (its protocols include `http`, `ws` or `grpc`). */
  readonly allowsHttp: boolean;
  /**
   * The route's HTTP-family protocols are only `ws`/`wss`: it matches WebSocket upgrade requests
   * only (an http/https route matches both, proxying an upgrade as Kong's nginx does).
   */
  readonly upgradeOnly: boolean;
  /** Kong's https_redirect_status_code for a plain-HTTP request: 426 refuses, others redirect. */
  readonly httpsRedirectStatus: number;
  readonly stripPath: boolean;
  readonly pathHandling: 'v0' | 'v1';
  /** Send the client's Host header upstream (when it sent one). */
  readonly preserveHost: boolean;
  /** Kong's request_buffering: read the client's body whole before going upstream (proxy/request-buffering.ts). */
  readonly requestBuffering: boolean;
}

/** One (route, path) pair, ready to be tested against a request. */
export interface RouteEntry<T, C = never> extends RouteFlags {
  readonly route: Route;
  /** The route's service; null for a route without one (compiled with a `serviceless` target). */
  readonly service: Service | null;
  readonly target: T;
  /** The route's plugin chain (or other per-route payload), null when it has none. */
  readonly chain: C | null;
  /** Position in the global priority order (0 = tried first). */
  readonly priority: number;
  /** Position of the entry's category (set of attribute kinds) in Kong's category order. */
  readonly categoryRank: number;
  readonly matchRules: number;
  readonly matchWeight: number;
  readonly submatchWeight: number;
  readonly plainHosts: ReadonlySet<string> | null;
  readonly wildcardHosts: readonly RegExp[] | null;
  readonly headers: readonly HeaderRule[];
  readonly methods: ReadonlySet<string> | null;
  /** The prefix path, or null. */
  readonly prefix: string | null;
  /** The regex path (anchored at the start), or null. */
  readonly regex: RegExp | null;
  /** The path as configured (`~` included for a regex). */
  readonly path: string | null;
}

/** The result of a successful match. */
export class RouteMatch<T, C = never> {
  constructor(
    readonly entry: RouteEntry<T, C>,
    /** Length of the matched path prefix (regex: the whole regex match); -1 when the route has no path. */
    readonly prefixLength: number,
    /**
     * Kong's `uri_captures`: the whole match (`'0'`), numbered (`'1'`, `'2'`…) and named groups;
     * null for prefix paths and regexes without groups.
     */
    readonly captures: Readonly<Record<string, string | undefined>> | null,
  ) {}
}

interface Bucket<T, C> {
  /** Prefix-path entries by prefix, each list in priority order. */
  readonly prefixes: PrefixTree<RouteEntry<T, C>>;
  /** Regex-path and path-less entries, in priority order. */
  readonly scan: RouteEntry<T, C>[];
}

const newBucket = <T, C>(): Bucket<T, C> => ({ prefixes: new PrefixTree(), scan: [] });

const NO_HEADERS: readonly HeaderRule[] = Object.freeze([]);

/**
 * The entries drafted so far, and the values they share: a method set is one object for every
 * route with the same methods.
 */
class Drafts<T, C> {
  readonly entries: DraftEntry<T, C>[] = [];
  private readonly methodSets = new Map<string, ReadonlySet<string>>();
  /** The last method list asked for and its set: routes in a row mostly have the same methods. */
  private lastMethods: readonly string[] = [];
  private lastMethodSet: ReadonlySet<string> | null = null;

  push(entry: DraftEntry<T, C>): void {
    this.entries.push(entry);
  }

  methods(list: readonly string[]): ReadonlySet<string> {
    const last = this.lastMethods;
    if (this.lastMethodSet !== null && list.length === last.length && list.every((m, i) => m === last[i]))
      return this.lastMethodSet;
    const upper = list.map((m) => m.toUpperCase());
    const key = JSON.stringify(upper);
    let set = this.methodSets.get(key);
    if (set === undefined) this.methodSets.set(key, (set = new Set(upper)));
    this.lastMethods = list;
    this.lastMethodSet = set;
    return set;
  }
}

export interface RouteTargetFactory<T> {
  /**
   * Returns the per-service payload stored in each entry, or null to leave the service's routes
   * out. Asked once per route: it should give one payload per service (memoised).
   */
  (service: Service): T | null;
}

/** Request attributes the router needs; `rawHeaders` is node's flat [name, value, …] array. */
export interface RouteRequest {
  method: string;
  /** Normalised path without the query string. */
  path: string;
  /** Host header (may carry a port), or undefined. */
  host: string | undefined;
  rawHeaders: readonly string[];
  /** The request is a WebSocket upgrade (only such requests match `ws`/`wss`-only routes). */
  upgrade?: boolean;
}

const HTTP_PROTOCOLS = new Set(['http', 'https', 'grpc', 'grpcs', 'ws', 'wss']);
const KNOWN_PROTOCOLS: ReadonlySet<string> = new Set(ROUTE_PROTOCOLS);
/** Route fields the routers read as lists of strings (null or absent: not set). */
const STRING_LISTS = ['paths', 'hosts', 'methods', 'snis'] as const;

/**
 * Refuses a route whose fields the routers read hold what no validated route has: protocols that
 * are not route protocols, or a list of anything but strings. The CP's schema never lets such a
 * route through, so only a snapshot that was signed without it (a bug, a hostile signer) carries
 * one; skipping it would hold and acknowledge a config that is not what was meant (chaos row F13).
 * A check of the few fields routing depends on, not the whole entity schema: cheap per snapshot.
 */
function checkRouteShape(route: Route): void {
  const name = route.name ?? route.id;
  const protocols = route.protocols as unknown;
  if (
    !Array.isArray(protocols) ||
    protocols.length === 0 ||
    !protocols.every((p) => typeof p === 'string' && KNOWN_PROTOCOLS.has(p))
  ) {
    throw RouterErrors.invalidRoute(
      `route ${name}: protocols ${JSON.stringify(protocols)} must be a non-empty list of ${ROUTE_PROTOCOLS.join(', ')}`,
      { route: route.id, field: 'protocols' },
    );
  }
  const fields = route as unknown as Record<string, unknown>;
  for (const field of STRING_LISTS) {
    const list = fields[field];
    if (list == null) continue;
    if (!Array.isArray(list) || !list.every((v) => typeof v === 'string')) {
      throw RouterErrors.invalidRoute(`route ${name}: ${field} must be a list of strings`, {
        route: route.id,
        field,
      });
    }
  }
}

function nonEmpty<V>(list: readonly V[] | null | undefined): list is readonly V[] {
  return list != null && list.length > 0;
}

/** Gives the per-route payload of an entry (the plugin chain), or null. */
export interface RouteChainFactory<C> {
  (route: Route): C | null;
}

/** What every path of one route shares, computed once per route. */
interface RouteRule<T, C> extends RouteFlags {
  readonly route: Route;
  readonly service: Service | null;
  readonly target: T;
  readonly chain: C | null;
  readonly matchRules: number;
  readonly matchWeight: number;
  readonly plainHosts: ReadonlySet<string> | null;
  readonly wildcardHosts: readonly RegExp[] | null;
  readonly headers: readonly HeaderRule[];
  readonly methods: ReadonlySet<string> | null;
}

/** One (route, path) pair before the global sort gives it its priority. */
class DraftEntry<T, C> {
  constructor(
    readonly rule: RouteRule<T, C>,
    readonly submatchWeight: number,
    readonly prefix: string | null,
    readonly regex: RegExp | null,
    readonly path: string | null,
    readonly maxUriLength: number,
    readonly pathIndex: number,
  ) {}
}

/** A compiled entry: one class, so every entry has the same shape (no spread objects). */
class CompiledEntry<T, C> implements RouteEntry<T, C> {
  readonly route: Route;
  readonly service: Service | null;
  readonly target: T;
  readonly chain: C | null;
  readonly allowsHttp: boolean;
  readonly upgradeOnly: boolean;
  readonly httpsRedirectStatus: number;
  readonly stripPath: boolean;
  readonly pathHandling: 'v0' | 'v1';
  readonly preserveHost: boolean;
  readonly requestBuffering: boolean;
  readonly matchRules: number;
  readonly matchWeight: number;
  readonly submatchWeight: number;
  readonly plainHosts: ReadonlySet<string> | null;
  readonly wildcardHosts: readonly RegExp[] | null;
  readonly headers: readonly HeaderRule[];
  readonly methods: ReadonlySet<string> | null;
  readonly prefix: string | null;
  readonly regex: RegExp | null;
  readonly path: string | null;

  constructor(
    draft: DraftEntry<T, C>,
    readonly priority: number,
    readonly categoryRank: number,
  ) {
    const rule = draft.rule;
    this.route = rule.route;
    this.service = rule.service;
    this.target = rule.target;
    this.chain = rule.chain;
    this.allowsHttp = rule.allowsHttp;
    this.upgradeOnly = rule.upgradeOnly;
    this.httpsRedirectStatus = rule.httpsRedirectStatus;
    this.stripPath = rule.stripPath;
    this.pathHandling = rule.pathHandling;
    this.preserveHost = rule.preserveHost;
    this.requestBuffering = rule.requestBuffering;
    this.matchRules = rule.matchRules;
    this.matchWeight = rule.matchWeight;
    this.submatchWeight = draft.submatchWeight;
    this.plainHosts = rule.plainHosts;
    this.wildcardHosts = rule.wildcardHosts;
    this.headers = rule.headers;
    this.methods = rule.methods;
    this.prefix = draft.prefix;
    this.regex = draft.regex;
    this.path = draft.path;
  }
}

/** A `~` path: Kong's PCRE, translated as the control plane's validator translates it, anchored at the start. */
function compileRegexPath(route: Route, path: string): RegExp {
  const compiled = compilePcre(path.slice(1), { anchored: true });
  if (compiled instanceof RegExp) return compiled;
  throw RouterErrors.invalidRegex(`route ${route.name ?? route.id}: invalid regex path '${path}'`, {
    route: route.id,
    path,
    reason: compiled.error,
  });
}

function compileHeaders(route: Route): HeaderRule[] {
  const rules: HeaderRule[] = [];
  if (route.headers == null) return rules;
  for (const [rawName, values] of Object.entries(route.headers)) {
    const name = rawName.toLowerCase();
    if (name === 'host' || !nonEmpty(values)) continue;
    let pattern: RegExp | null = null;
    const first = values[0]!;
    if (values.length === 1 && first.startsWith('~*')) {
      const compiled = compilePcre(first.slice(2));
      if (!(compiled instanceof RegExp))
        throw RouterErrors.invalidRegex(`route ${route.name ?? route.id}: invalid header regex '${first}'`, {
          route: route.id,
          header: name,
          reason: compiled.error,
        });
      pattern = compiled;
    }
    rules.push({ name, values: new Set(values.map((v) => v.toLowerCase())), pattern });
  }
  return rules;
}

/** The route's flags, read once at compile time. */
export function routeFlags(route: Route): RouteFlags {
  return {
    allowsHttp:
      route.protocols.includes('http') || route.protocols.includes('ws') || route.protocols.includes('grpc'),
    upgradeOnly: !route.protocols.some((p) => p !== 'ws' && p !== 'wss' && HTTP_PROTOCOLS.has(p)),
    httpsRedirectStatus: route.https_redirect_status_code,
    stripPath: route.strip_path,
    pathHandling: route.path_handling,
    preserveHost: route.preserve_host,
    // Kong's default is true; a config from before the field was read has none.
    requestBuffering: route.request_buffering !== false,
  };
}

function draftEntries<T, C>(
  route: Route,
  service: Service | null,
  target: T,
  chain: C | null,
  out: Drafts<T, C>,
): void {
  let matchRules = 0;
  let matchWeight = 0;
  let submatchWeight = 0;
  let plainHosts: Set<string> | null = null;
  let wildcardHosts: RegExp[] | null = null;

  if (nonEmpty(route.hosts)) {
    for (const rawHost of route.hosts) {
      const host = lowerHost(rawHost);
      if (host.includes('*')) {
        (wildcardHosts ??= []).push(compileWildcardHost(host));
        if (hasPort(host)) submatchWeight |= SubRule.HAS_WILDCARD_HOST_PORT;
      } else {
        (plainHosts ??= new Set()).add(host);
      }
    }
    matchRules |= MatchRule.HOST;
    matchWeight++;
    if (wildcardHosts === null) submatchWeight |= SubRule.PLAIN_HOSTS_ONLY;
  }

  const compiledHeaders = compileHeaders(route);
  const headers = compiledHeaders.length === 0 ? NO_HEADERS : compiledHeaders;
  if (headers.length > 0) {
    matchRules |= MatchRule.HEADER;
    matchWeight++;
  }

  const paths = nonEmpty(route.paths) ? route.paths : null;
  if (paths !== null) {
    matchRules |= MatchRule.URI;
    matchWeight++;
  }

  const methods = nonEmpty(route.methods) ? out.methods(route.methods) : null;
  if (methods !== null) {
    matchRules |= MatchRule.METHOD;
    matchWeight++;
  }

  if (nonEmpty(route.snis)) {
    // Plain-HTTP requests pass the SNI rule (Kong: `req_scheme == "http"`), but it still counts.
    matchRules |= MatchRule.SNI;
    matchWeight++;
  }

  if (matchRules === 0) {
    throw RouterErrors.unroutable(
      `route ${route.name ?? route.id}: needs at least one of methods, hosts, headers, paths, snis`,
      { route: route.id },
    );
  }

  const flags = routeFlags(route);
  const rule: RouteRule<T, C> = {
    route,
    service,
    target,
    chain,
    allowsHttp: flags.allowsHttp,
    upgradeOnly: flags.upgradeOnly,
    httpsRedirectStatus: flags.httpsRedirectStatus,
    stripPath: flags.stripPath,
    pathHandling: flags.pathHandling,
    preserveHost: flags.preserveHost,
    requestBuffering: flags.requestBuffering,
    matchRules,
    matchWeight,
    plainHosts,
    wildcardHosts,
    headers,
    methods,
  };
  if (paths === null) {
    out.push(new DraftEntry(rule, submatchWeight, null, null, null, 0, 0));
    return;
  }
  for (let pathIndex = 0; pathIndex < paths.length; pathIndex++) {
    const path = paths[pathIndex]!;
    if (path.startsWith('~')) {
      const regex = compileRegexPath(route, path);
      out.push(new DraftEntry(rule, submatchWeight | SubRule.HAS_REGEX_URI, null, regex, path, 0, pathIndex));
    } else {
      out.push(new DraftEntry(rule, submatchWeight, path, null, path, path.length, pathIndex));
    }
  }
}

/** Kong's sort_categories followed by sort_routes, with id and path position as final tie-breakers. */
function compareEntries<T, C>(a: DraftEntry<T, C>, b: DraftEntry<T, C>): number {
  if (a.rule.matchWeight !== b.rule.matchWeight) return b.rule.matchWeight - a.rule.matchWeight;
  if (a.rule.matchRules !== b.rule.matchRules) return b.rule.matchRules - a.rule.matchRules;
  if (a.submatchWeight !== b.submatchWeight) return b.submatchWeight - a.submatchWeight;
  if (a.rule.headers.length !== b.rule.headers.length) return b.rule.headers.length - a.rule.headers.length;
  if (
    (a.submatchWeight & SubRule.HAS_REGEX_URI) !== 0 &&
    a.rule.route.regex_priority !== b.rule.route.regex_priority
  ) {
    return b.rule.route.regex_priority - a.rule.route.regex_priority;
  }
  if (a.maxUriLength !== b.maxUriLength) return b.maxUriLength - a.maxUriLength;
  if (a.rule.route.created_at !== b.rule.route.created_at)
    return a.rule.route.created_at - b.rule.route.created_at;
  if (a.rule.route.id !== b.rule.route.id) return a.rule.route.id < b.rule.route.id ? -1 : 1;
  return a.pathIndex - b.pathIndex;
}

function headerMatches(rule: HeaderRule, rawHeaders: readonly string[]): boolean {
  const name = rule.name;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const raw = rawHeaders[i]!;
    if (raw.length !== name.length || (raw !== name && raw.toLowerCase() !== name)) continue;
    const value = rawHeaders[i + 1]!.toLowerCase();
    if (rule.values.has(value)) return true;
    if (rule.pattern !== null && rule.pattern.test(value)) return true;
  }
  return false;
}

/** A compiled, immutable router. Build with {@link compileRouter}. */
export class Router<T, C = never> implements PrefixVisitor<RouteEntry<T, C>> {
  /** Number of (route, path) entries. */
  readonly size: number;
  private readonly byHost: Map<string, Bucket<T, C>>;
  private readonly anyHost: Bucket<T, C>;
  private readonly hasWildcards: boolean;

  // Per-match scratch (match() is synchronous and not re-entrant).
  private best: RouteEntry<T, C> | null = null;
  private bestPrefixLength = -1;
  private bestExec: RegExpExecArray | null = null;
  private reqMethod = '';
  private reqPath = '';
  private reqHost = '';
  private reqHostNoPort = '';
  private reqHostWithPort: string | null = null;
  private reqHeaders: readonly string[] = [];
  private reqUpgrade = false;
  private scanByCategory = false;
  /** Entries fully tested by the last match() (for tests: lookup cost must not grow with the route count). */
  lastExamined = 0;

  constructor(entries: readonly RouteEntry<T, C>[]) {
    this.size = entries.length;
    this.byHost = new Map();
    this.anyHost = newBucket<T, C>();
    let hasWildcards = false;
    for (const entry of entries) {
      if (entry.wildcardHosts !== null) hasWildcards = true;
      const buckets: Bucket<T, C>[] = [];
      if (entry.plainHosts !== null && entry.wildcardHosts === null) {
        for (const host of entry.plainHosts) {
          let bucket = this.byHost.get(host);
          if (bucket === undefined) {
            bucket = newBucket<T, C>();
            this.byHost.set(host, bucket);
          }
          buckets.push(bucket);
        }
      } else {
        buckets.push(this.anyHost);
      }
      for (const bucket of buckets) {
        if (entry.prefix !== null) bucket.prefixes.insert(entry.prefix, entry);
        else bucket.scan.push(entry);
      }
    }
    this.hasWildcards = hasWildcards;
  }

  /** Finds the highest-priority route matching the request, or null. */
  match(req: RouteRequest): RouteMatch<T, C> | null {
    this.best = null;
    this.bestExec = null;
    this.bestPrefixLength = -1;
    this.lastExamined = 0;
    this.reqMethod = req.method;
    this.reqPath = req.path;
    this.reqHeaders = req.rawHeaders;
    this.reqUpgrade = req.upgrade === true;
    this.reqHostWithPort = null;
    const host = req.host === undefined ? '' : lowerHost(req.host);
    this.reqHost = host;
    this.reqHostNoPort = host === '' ? '' : hostWithoutPort(host);

    if (host !== '' && this.byHost.size > 0) {
      const exact = this.byHost.get(host);
      if (exact !== undefined) this.searchBucket(exact, false);
      if (this.reqHostNoPort !== host) {
        const noPort = this.byHost.get(this.reqHostNoPort);
        // Kong tries the routes indexed by the request's exact host (port included) before the
        // rest of their category, so a port-qualified host beats a no-port one of the same category.
        if (noPort !== undefined) this.searchBucket(noPort, (this.best as RouteEntry<T, C> | null) !== null);
      }
    }
    this.searchBucket(this.anyHost, false);

    const best = this.best as RouteEntry<T, C> | null;
    if (best === null) return null;
    let captures: Record<string, string | undefined> | null = null;
    const exec = this.bestExec as RegExpExecArray | null;
    if (exec !== null) {
      // Kong's uri_captures: set when the regex has a group; [0] is the whole match.
      if (exec.length > 1 || exec.groups !== undefined) {
        captures = {};
        for (let i = 0; i < exec.length; i++) captures[String(i)] = exec[i];
        if (exec.groups !== undefined) Object.assign(captures, exec.groups);
      }
    }
    this.best = null;
    this.bestExec = null;
    this.reqHeaders = [];
    return new RouteMatch(best, this.bestPrefixLength, captures);
  }

  private searchBucket(bucket: Bucket<T, C>, byCategory: boolean): void {
    this.scanByCategory = byCategory;
    bucket.prefixes.visitPrefixesOf(this.reqPath, this);
    if (bucket.scan.length > 0) this.searchList(bucket.scan, byCategory);
  }

  /** Searches one list of prefix entries the bucket's tree yields for the path (during match()). */
  visitPrefix(list: readonly RouteEntry<T, C>[]): void {
    this.searchList(list, this.scanByCategory);
  }

  private searchList(list: readonly RouteEntry<T, C>[], byCategory: boolean): void {
    for (let i = 0; i < list.length; i++) {
      const entry = list[i]!;
      const best = this.best;
      if (
        best !== null &&
        (byCategory ? entry.categoryRank >= best.categoryRank : entry.priority >= best.priority)
      ) {
        return;
      }
      if (this.matches(entry)) {
        this.best = entry;
        return;
      }
    }
  }

  private matches(entry: RouteEntry<T, C>): boolean {
    this.lastExamined++;
    if (entry.upgradeOnly && !this.reqUpgrade) return false;
    if (entry.methods !== null && !entry.methods.has(this.reqMethod)) return false;
    if ((entry.matchRules & MatchRule.HOST) !== 0 && !this.hostMatches(entry)) return false;
    const headers = entry.headers;
    for (let i = 0; i < headers.length; i++) {
      if (!headerMatches(headers[i]!, this.reqHeaders)) return false;
    }
    if (entry.prefix !== null) {
      if (!this.reqPath.startsWith(entry.prefix)) return false;
      this.bestPrefixLength = entry.prefix.length;
      this.bestExec = null;
    } else if (entry.regex !== null) {
      const exec = entry.regex.exec(this.reqPath);
      if (exec === null) return false;
      this.bestPrefixLength = exec[0].length;
      this.bestExec = exec;
    } else {
      this.bestPrefixLength = -1;
      this.bestExec = null;
    }
    return true;
  }

  private hostMatches(entry: RouteEntry<T, C>): boolean {
    const host = this.reqHost;
    if (host === '') return false;
    const plain = entry.plainHosts;
    if (plain !== null && (plain.has(host) || plain.has(this.reqHostNoPort))) return true;
    const wildcards = entry.wildcardHosts;
    if (wildcards === null || !this.hasWildcards) return false;
    const withPort = (this.reqHostWithPort ??= hostWithPort(host, 80));
    for (let i = 0; i < wildcards.length; i++) {
      if (wildcards[i]!.test(withPort)) return true;
    }
    return false;
  }
}

/**
 * Compiles the routes of a configuration. Routes whose service is disabled, or for which
 * `makeTarget` returns null are left out, as are routes with no HTTP protocol. A route without a
 * service (`service: null`) is matched with the `serviceless` target (Kong matches it and answers
 * 503), or left out when none is given. Throws a GatehouseError (GH_ERR_ROUTER_*) on a route
 * that cannot be compiled.
 */
export function compileRouter<T, C = never>(
  config: GatehouseConfig,
  makeTarget: RouteTargetFactory<T>,
  chainOf: RouteChainFactory<C> = () => null,
  serviceless: T | null = null,
): Router<T, C> {
  const services = new Map<string, Service>();
  for (const service of config.services) services.set(service.id, service);
  const drafts = new Drafts<T, C>();
  for (const route of config.routes) {
    checkRouteShape(route);
    if (!route.protocols.some((p) => HTTP_PROTOCOLS.has(p))) continue;
    if (route.service === null) {
      if (serviceless !== null) draftEntries(route, null, serviceless, chainOf(route), drafts);
      continue;
    }
    const service = services.get(route.service.id);
    if (service === undefined) {
      throw RouterErrors.unknownService(
        `route ${route.name ?? route.id}: unknown service ${route.service.id}`,
        {
          route: route.id,
          service: route.service.id,
        },
      );
    }
    if (!service.enabled) continue;
    const target = makeTarget(service);
    if (target === null) continue;
    draftEntries(route, service, target, chainOf(route), drafts);
  }

  const sorted = drafts.entries.sort(compareEntries);
  let categoryRank = -1;
  let lastRules = -1;
  const entries: RouteEntry<T, C>[] = new Array<RouteEntry<T, C>>(sorted.length);
  for (let priority = 0; priority < sorted.length; priority++) {
    const d = sorted[priority]!;
    if (d.rule.matchRules !== lastRules) {
      categoryRank++;
      lastRules = d.rule.matchRules;
    }
    entries[priority] = new CompiledEntry(d, priority, categoryRank);
  }
  return new Router(entries);
}

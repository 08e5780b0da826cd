/**
 * Builds the plugin chains of a snapshot, once, at ProxyServer.apply: one chain per route (its
 * service and the global plugins included), each phase an array of slots sorted by priority
 * (higher first, ties by name) or null. A slot is one plugin name; which of its instances runs
 * is Kong's scope precedence:
 *
 *   consumer+route+service > consumer_group+route+service > consumer+route > consumer+service >
 *   consumer_group+route > consumer_group+service > route+service > consumer > consumer_group >
 *   route > service > global
 *
 * The consumer-independent winner (`base`) is fixed at compile time; the consumer-dependent
 * levels that outrank it are Map lookups by consumer / group id, done only when a consumer is set.
 *
 * A chain depends on its route only through the instances scoped to the route or to its service:
 * routes with none share one chain (per service when only the service has some), so 10,000
 * routes under global plugins cost one chain, not 10,000.
 */
import type { GatehouseConfig, Logger, Plugin } from '@gatehouse/shared';
import type { AnyPluginDefinition, InitContext, PhaseName } from '../api.js';
import { PluginErrors } from '../errors.js';
import type { PluginRegistry } from '../registry.js';
import { DestinationPlanner } from '../../proxy/destinations.js';
import { planServiceEndpoint } from '../../proxy/service-endpoint.js';
import { SnapshotIndex } from './snapshot-view.js';

export const PROTO_HTTP = 1;
export const PROTO_HTTPS = 2;

/**
 * The protocol bit of a request (an instance runs only for its protocols): a gRPC call is
 * `grpc`/`grpcs`, any other `http`/`https`.
 */
export const protocolOf = (request: { readonly secure: boolean; readonly grpc?: boolean }): number =>
  request.grpc === true ? (request.secure ? 8 : 4) : request.secure ? PROTO_HTTPS : PROTO_HTTP;
const PROTO_BITS: Record<string, number> = {
  http: PROTO_HTTP,
  https: PROTO_HTTPS,
  grpc: 4,
  grpcs: 8,
  ws: 16,
  wss: 32,
};

export interface Instance {
  readonly plugin: Plugin;
  readonly def: AnyPluginDefinition;
  readonly state: unknown;
  /** Bits of the protocols the instance is configured for. */
  readonly protocols: number;
}

/** One consumer-dependent level: instances keyed by consumer id ('c') or group id ('g'). */
export interface Level {
  readonly byGroup: boolean;
  readonly map: ReadonlyMap<string, Instance>;
}

export interface Slot {
  readonly name: string;
  readonly def: AnyPluginDefinition;
  readonly base: Instance | null;
  /** Levels that outrank `base`, in precedence order; null when none. */
  readonly before: readonly Level[] | null;
}

export interface Chain {
  readonly rewrite: readonly Slot[] | null;
  readonly access: readonly Slot[] | null;
  readonly response: readonly Slot[] | null;
  readonly log: readonly Slot[] | null;
  /** Some response-phase plugin may want the whole upstream body (decided per response). */
  readonly bufferResponse: boolean;
}

export interface CompiledPlugins {
  readonly snapshot: SnapshotIndex;
  /** Chain per route id; a route without plugins has none (the proxy's fast path). */
  readonly chains: ReadonlyMap<string, Chain>;
}

/** Scope kinds, in Kong's precedence order. */
const enum Scope {
  CRS,
  GRS,
  CR,
  CS,
  GR,
  GS,
  RS,
  C,
  G,
  R,
  S,
  GLOBAL,
}

function scopeOf(p: Plugin): Scope {
  const c = p.consumer !== null;
  const g = p.consumer_group !== null;
  const r = p.route !== null;
  const s = p.service !== null;
  if (c || g) {
    if (r && s) return c ? Scope.CRS : Scope.GRS;
    if (r) return c ? Scope.CR : Scope.GR;
    if (s) return c ? Scope.CS : Scope.GS;
    return c ? Scope.C : Scope.G;
  }
  if (r && s) return Scope.RS;
  if (r) return Scope.R;
  if (s) return Scope.S;
  return Scope.GLOBAL;
}

function compare(
  a: { name: string; def: AnyPluginDefinition },
  b: { name: string; def: AnyPluginDefinition },
): number {
  if (a.def.priority !== b.def.priority) return b.def.priority - a.def.priority;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Instances of one plugin name, indexed by scope. */
class NameIndex {
  readonly global: Instance[] = [];
  readonly byRoute = new Map<string, Instance[]>();
  readonly byService = new Map<string, Instance[]>();
  readonly consumerScoped: Instance[] = [];
  /** Consumer-only and group-only levels (the same for every route). */
  readonly cOnly = new Map<string, Instance>();
  readonly gOnly = new Map<string, Instance>();
  constructor(readonly def: AnyPluginDefinition) {}
}

function push<K>(m: Map<K, Instance[]>, k: K, v: Instance): void {
  const l = m.get(k);
  if (l === undefined) m.set(k, [v]);
  else l.push(v);
}

function protocolBits(list: readonly string[]): number {
  let bits = 0;
  for (const p of list) bits |= PROTO_BITS[p] ?? 0;
  return bits;
}

/**
 * `destinations` collects the alternate destinations the instances ask for in `init`; the caller
 * compiles them once the service targets are (compileRuntime).
 */
export function compilePlugins(
  config: GatehouseConfig,
  registry: PluginRegistry | null,
  logger: Logger,
  destinations: DestinationPlanner = new DestinationPlanner(),
  /** Instances whose config holds a vault reference that cannot be resolved: id → why. */
  unresolved: ReadonlyMap<string, string> = new Map(),
): CompiledPlugins | null {
  const enabled = config.plugins.filter((p) => p.enabled);
  if (enabled.length === 0) return null;
  if (registry === null) {
    throw PluginErrors.unknown('configuration uses plugins but this proxy has no plugin registry', {
      plugins: [...new Set(enabled.map((p) => p.name))],
    });
  }
  const snapshot = new SnapshotIndex(config);
  const names = new Map<string, NameIndex>();
  for (const p of [...enabled].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    const def = registry.get(p.name);
    if (def === undefined)
      throw PluginErrors.unknown(`plugin '${p.name}' is not available on this node`, {
        plugin: p.id,
        name: p.name,
      });
    let config: Record<string, unknown>;
    let state: unknown;
    const failure = unresolved.get(p.id);
    if (failure !== undefined) {
      // Fails where it would run: never served with the reference (or nothing) as the secret.
      const inst: Instance = {
        plugin: p,
        def: failingDefinition(def, failure),
        state: null,
        protocols: protocolBits(p.protocols),
      };
      let idx = names.get(p.name);
      if (idx === undefined) names.set(p.name, (idx = new NameIndex(def)));
      place(idx, p, inst);
      continue;
    }
    try {
      config = registry.validateConfig(p.name, p.config);
      const ctx: InitContext = {
        snapshot,
        instance: {
          id: p.id,
          name: p.name,
          instanceName: p.instance_name,
          route: p.route?.id ?? null,
          service: p.service?.id ?? null,
          consumer: p.consumer?.id ?? null,
          consumerGroup: p.consumer_group?.id ?? null,
        },
        log: logger.child({ plugin: p.name, plugin_id: p.id }),
        destination: (host, port) =>
          destinations.plan(host, port, { route: p.route?.id ?? null, service: p.service?.id ?? null }),
        service: (nameOrId) => planServiceEndpoint(snapshot.config.services, nameOrId, destinations),
      };
      state = def.init === undefined ? Object.freeze(config) : def.init(config, ctx);
    } catch (e) {
      throw PluginErrors.initFailed(
        `plugin '${p.name}' (${p.id}) cannot be initialised: ${(e as Error).message}`,
        { plugin: p.id, name: p.name },
        { cause: e },
      );
    }
    const inst: Instance = { plugin: p, def, state, protocols: protocolBits(p.protocols) };
    let idx = names.get(p.name);
    if (idx === undefined) names.set(p.name, (idx = new NameIndex(def)));
    place(idx, p, inst);
  }

  const sortedNames = [...names.entries()].map(([name, idx]) => ({ name, def: idx.def, idx })).sort(compare);
  const scopedRoutes = new Set<string>();
  const scopedServices = new Set<string>();
  for (const p of enabled) {
    if (p.route !== null) scopedRoutes.add(p.route.id);
    if (p.service !== null) scopedServices.add(p.service.id);
  }
  const chains = new Map<string, Chain>();
  const byService = new Map<string, Chain | null>();
  let unscoped: Chain | null | undefined;
  for (const route of config.routes) {
    const s = route.service?.id ?? null;
    let chain: Chain | null;
    if (scopedRoutes.has(route.id)) {
      chain = chainFor(route.id, s, sortedNames);
    } else if (s !== null && scopedServices.has(s)) {
      chain = byService.get(s) ?? null;
      if (!byService.has(s)) byService.set(s, (chain = chainFor(null, s, sortedNames)));
    } else {
      chain = unscoped === undefined ? (unscoped = chainFor(null, null, sortedNames)) : unscoped;
    }
    if (chain !== null) chains.set(route.id, chain);
  }
  return { snapshot, chains };
}

/** Files an instance under its scope (the first instance by id wins when two share a scope). */
function place(idx: NameIndex, p: Plugin, inst: Instance): void {
  switch (scopeOf(p)) {
    case Scope.GLOBAL:
      idx.global.push(inst);
      break;
    case Scope.R:
    case Scope.RS:
      push(idx.byRoute, p.route!.id, inst);
      break;
    case Scope.S:
      push(idx.byService, p.service!.id, inst);
      break;
    case Scope.C:
      if (!idx.cOnly.has(p.consumer!.id)) idx.cOnly.set(p.consumer!.id, inst);
      break;
    case Scope.G:
      if (!idx.gOnly.has(p.consumer_group!.id)) idx.gOnly.set(p.consumer_group!.id, inst);
      break;
    default:
      idx.consumerScoped.push(inst);
  }
}

/** Thrown by an instance whose vault reference cannot be resolved (logged, client gets a 500). */
export class UnresolvedSecretError extends Error {
  override readonly name = 'UnresolvedSecretError';
}

/** `def` with every phase it has throwing `message` (data-plane/src/vaults/resolve-config.ts). */
function failingDefinition(def: AnyPluginDefinition, message: string): AnyPluginDefinition {
  const fail = (): never => {
    throw new UnresolvedSecretError(message);
  };
  const out: { -readonly [K in keyof AnyPluginDefinition]: AnyPluginDefinition[K] } = { ...def };
  delete out.init;
  for (const phase of ['rewrite', 'access', 'response', 'log'] as const)
    if (def[phase] !== undefined) out[phase] = fail;
  return out;
}

/** The chain of route `r` (null: a route no instance is scoped to) under service `s`. */
function chainFor(
  r: string | null,
  s: string | null,
  names: readonly { name: string; def: AnyPluginDefinition; idx: NameIndex }[],
): Chain | null {
  const slots: Slot[] = [];
  for (const { name, def, idx } of names) {
    // Consumer-independent winner.
    const routeList = r === null ? undefined : idx.byRoute.get(r);
    let base: Instance | null = null;
    let baseScope: number = Scope.GLOBAL + 1;
    if (routeList !== undefined) {
      const rs = routeList.find((i) => i.plugin.service !== null && i.plugin.service.id === s);
      const ro = routeList.find((i) => i.plugin.service === null);
      if (rs !== undefined) [base, baseScope] = [rs, Scope.RS];
      else if (ro !== undefined) [base, baseScope] = [ro, Scope.R];
    }
    if (base === null && s !== null) {
      const so = idx.byService.get(s)?.[0];
      if (so !== undefined) [base, baseScope] = [so, Scope.S];
    }
    if (base === null && idx.global.length > 0) [base, baseScope] = [idx.global[0]!, Scope.GLOBAL];

    // Consumer-dependent levels for this route/service.
    const levels = new Map<Scope, Map<string, Instance>>();
    for (const inst of idx.consumerScoped) {
      const p = inst.plugin;
      if (p.route !== null && p.route.id !== r) continue;
      if (p.service !== null && p.service.id !== s) continue;
      const scope = scopeOf(p);
      let m = levels.get(scope);
      if (m === undefined) levels.set(scope, (m = new Map<string, Instance>()));
      const key = p.consumer?.id ?? p.consumer_group!.id;
      if (!m.has(key)) m.set(key, inst);
    }
    if (idx.cOnly.size > 0) levels.set(Scope.C, idx.cOnly);
    if (idx.gOnly.size > 0) levels.set(Scope.G, idx.gOnly);
    const before: Level[] = [];
    for (const scope of [Scope.CRS, Scope.GRS, Scope.CR, Scope.CS, Scope.GR, Scope.GS, Scope.C, Scope.G]) {
      if ((scope as number) >= baseScope) continue;
      const m = levels.get(scope);
      if (m !== undefined)
        before.push({
          byGroup: scope === Scope.GRS || scope === Scope.GR || scope === Scope.GS || scope === Scope.G,
          map: m,
        });
    }
    if (base === null && before.length === 0) continue;
    slots.push({ name, def, base, before: before.length === 0 ? null : before });
  }
  if (slots.length === 0) return null;
  const phase = (p: PhaseName): Slot[] | null => {
    const list = slots.filter((sl) => typeof sl.def[p] === 'function');
    return list.length === 0 ? null : list;
  };
  const response = phase('response');
  return {
    rewrite: phase('rewrite'),
    access: phase('access'),
    response,
    log: phase('log'),
    bufferResponse:
      response !== null &&
      response.some((sl) => sl.def.bufferResponse !== undefined && sl.def.bufferResponse !== false),
  };
}

/** The sync-first phase runner: calls handlers in order and awaits only thenables. */
import type { HeaderValue, PhaseName } from '../api.js';
import { protocolOf, type Slot } from './compile.js';
import { IDENTITY_HEADERS, type PluginRequest } from './context.js';
import { lengthIn, lengthMask } from './header-names.js';

export type PhaseRun = void | Promise<void>;

function isThenable(v: unknown): v is Promise<void> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * Runs `phase` over `slots` from `from`. Returns undefined when everything ran synchronously,
 * or a promise for the rest of the phase. Stops once a handler responded (rewrite/access).
 */
export function runPhase(
  ctx: PluginRequest,
  slots: readonly Slot[] | null,
  phase: PhaseName,
  from = 0,
): PhaseRun {
  if (slots === null) return undefined;
  const proto = protocolOf(ctx.proxied);
  const stopOnRespond = phase === 'rewrite' || phase === 'access';
  // Plugin-phase spans (tracing/instrumentations.ts): only asked when the request is traced.
  const trace = ctx.proxied.span;
  const traced = trace !== null && trace.tracesPhase(phase) ? trace : null;
  for (let i = from; i < slots.length; i++) {
    if (stopOnRespond && ctx.responded) return undefined;
    const slot = slots[i]!;
    const inst = ctx.instanceFor(slot);
    if (inst === null || (inst.protocols & proto) === 0) continue;
    const r: unknown =
      traced === null
        ? inst.def[phase]!(ctx, inst.state)
        : traced.plugin(phase, slot.name, () => inst.def[phase]!(ctx, inst.state));
    if (isThenable(r)) return r.then(() => runPhase(ctx, slots, phase, i + 1));
  }
  return undefined;
}

/** Case-insensitive lookup in a flat [name, value, …] header array. */
export function headerLookup(headers: readonly string[]): (name: string) => string | undefined {
  return (name) => {
    const lower = name.toLowerCase();
    for (let i = 0; i < headers.length; i += 2)
      if (headers[i]!.toLowerCase() === lower) return headers[i + 1];
    return undefined;
  };
}

function pushValue(out: string[], name: string, value: HeaderValue): void {
  if (typeof value === 'string') out.push(name, value);
  else for (const v of value) out.push(name, v);
}

/** Applies the response headers plugins set or removed (replacing same-named ones). */
export function applyResponseHeaders(headers: string[], ctx: PluginRequest): string[] {
  const set = ctx.responseHeaders;
  if (set === null) return headers;
  // Names of other lengths cannot match: skip their lower-casing.
  const lengths = lengthMask(set.keys());
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (!lengthIn(lengths, name) || !set.has(name.toLowerCase())) out.push(name, headers[i + 1]!);
  }
  for (const { name, value } of set.values()) if (value !== null) pushValue(out, name, value);
  return out;
}

function pushOp(this: string[], value: HeaderValue | null, name: string): void {
  if (value !== null) pushValue(this, name, value);
}

/** `lower` is set or removed by a plugin, or a client identity header dropped on authentication. */
function changedLower(ops: ReadonlyMap<string, unknown> | null, reset: boolean, lower: string): boolean {
  return (ops !== null && ops.has(lower)) || (reset && IDENTITY_HEADERS.has(lower));
}

/**
 * Whether the client's header `name` is replaced upstream. The lower-case name with `_` read as
 * `-`: a header a plugin sets or removes also replaces the client's underscore twin
 * (`X_Consumer_ID` for X-Consumer-ID), which CGI-style upstreams read as the same variable (only
 * seen when `--underscores-in-headers` keeps such names).
 */
function changed(ops: ReadonlyMap<string, unknown> | null, reset: boolean, name: string): boolean {
  const lower = name.toLowerCase();
  return (
    changedLower(ops, reset, lower) ||
    (lower.indexOf('_') >= 0 && changedLower(ops, reset, lower.replaceAll('_', '-')))
  );
}

/** The lengths of IDENTITY_HEADERS (lengthMask). */
const IDENTITY_LENGTHS = lengthMask(IDENTITY_HEADERS);

/**
 * Applies the upstream header changes plugins made to the proxy's header array, in place (the
 * array belongs to the request): removed and replaced names are dropped (and the client's
 * identity headers once the request was authenticated), set values appended.
 */
export function applyUpstreamHeaders(headers: string[], ctx: PluginRequest): string[] {
  const ops = ctx.upstreamHeaders;
  const reset = ctx.identityReset;
  if (ops === null && !reset) return headers;
  // A Host set by a plugin takes the Host slot (index 1), which the balancer then leaves alone.
  const host = ops?.get('host');
  const hostInPlace = typeof host === 'string' && headers[0] === 'host';
  if (hostInPlace) {
    headers[1] = host;
    ctx.proxied.hostSet = true;
  }
  // Names of other lengths cannot match: skip their lower-casing.
  const lengths = (ops === null ? 0 : lengthMask(ops.keys())) | (reset ? IDENTITY_LENGTHS : 0);
  const first = hostInPlace ? 2 : 0;
  let kept = first;
  for (let i = first; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (lengthIn(lengths, name) && changed(ops, reset, name)) continue;
    if (kept !== i) {
      headers[kept] = name;
      headers[kept + 1] = headers[i + 1]!;
    }
    kept += 2;
  }
  if (kept !== headers.length) headers.length = kept;
  if (ops === null) return headers;
  if (hostInPlace) {
    for (const [name, value] of ops) if (name !== 'host') pushOp.call(headers, value, name);
  } else ops.forEach(pushOp, headers);
  return headers;
}

/** The query string without the arguments plugins removed ('' when nothing is left). */
export function filterQuery(rawQuery: string, removed: ReadonlySet<string>): string {
  const kept: string[] = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawName = eq < 0 ? part : part.slice(0, eq);
    let name: string;
    try {
      name = decodeURIComponent(rawName.replace(/\+/g, ' '));
    } catch {
      name = rawName;
    }
    if (!removed.has(name)) kept.push(part);
  }
  return kept.join('&');
}

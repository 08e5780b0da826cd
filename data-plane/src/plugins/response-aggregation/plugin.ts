/**
 * response-aggregation: answers the request, from the access phase, with one JSON object composed
 * of N backend calls to named services — in parallel, or chained where a call's path reads an
 * earlier response (`/users/{resp.order.user_id}`) — each filtered and renamed, nested under its
 * name or merged at the top level. Per-call and overall timeouts, a body cap per call, and a
 * failure policy: `fail` (502 naming the call) or `partial` (200, failed calls null, their names
 * in X-Gatehouse-Aggregation-Partial). Templates, paths and the call order are compiled in
 * `init`; a request only substitutes values, sends and composes.
 */
import { definePlugin, type PluginContext, type ServiceEndpoint } from '../api.js';
import { ProxyErrorCode } from '../../proxy/errors.js';
import { EndpointErrorCode } from '../../proxy/service-endpoint.js';
import { respondError } from '../runtime/gateway-errors.js';
import {
  copyJson,
  encodeValue,
  getPath,
  orderCalls,
  parsePath,
  parseTemplate,
  referencedCalls,
  shape,
  type Path,
  type Shape,
  type Source,
  type TemplatePart,
} from './compose.js';
import { responseAggregationSpec, type ResponseAggregationConfig } from './schema.js';

/** The header naming the failed calls of a partial answer. */
export const PARTIAL_HEADER = 'X-Gatehouse-Aggregation-Partial';

/** Request id and trace headers sent on every call when the client sent them (as the proxy path does). */
const PROPAGATED = ['traceparent', 'tracestate', 'x-request-id', 'x-correlation-id', 'kong-request-id'];

/** A template part as a request uses it: literal text, or a source with its call index and label. */
type Part = string | { readonly source: Source; readonly call: number; readonly label: string };

interface Call {
  readonly name: string;
  readonly service: string;
  readonly endpoint: ServiceEndpoint | null;
  readonly parts: readonly Part[];
  /** Indexes of the calls this one waits for. */
  readonly deps: readonly number[];
  readonly timeout: number;
  readonly shape: Shape;
}

interface State {
  readonly calls: readonly Call[];
  /** Call indexes, each after its dependencies. */
  readonly order: readonly number[];
  readonly merge: boolean;
  readonly partial: boolean;
  readonly timeout: number;
  readonly maxBody: number;
  /** Lower-case names of the client headers sent on every call. */
  readonly forward: readonly string[];
}

/** A call's outcome: its parsed body and shaped result, or why it failed. */
type Outcome = { ok: true; body: unknown; value: unknown } | { ok: false; reason: string };

function path(text: string): Path {
  const p = parsePath(text);
  if (typeof p === 'string') throw new TypeError(p);
  return p;
}

function label(source: Source): string {
  if (source.kind === 'resp') return `resp.${source.call}.${source.path.join('.')}`;
  return `request.${source.kind === 'capture' ? 'captures' : source.kind}.${source.name}`;
}

function compileParts(parts: readonly TemplatePart[], names: readonly string[]): Part[] {
  return parts.map((p) =>
    typeof p === 'string'
      ? p
      : { source: p, call: p.kind === 'resp' ? names.indexOf(p.call) : -1, label: label(p) },
  );
}

function compile(
  config: ResponseAggregationConfig,
  service: (name: string) => ServiceEndpoint | null,
): State {
  const names = config.calls.map((c) => c.name);
  const parsed = config.calls.map((c) => {
    const parts = parseTemplate(c.path);
    if (typeof parts === 'string') throw new TypeError(`calls.${c.name}.path: ${parts}`);
    return parts;
  });
  const refs = config.calls.map((c, i) => ({
    name: c.name,
    deps: [...new Set([...c.depends_on, ...referencedCalls(parsed[i]!)])],
  }));
  const ordered = orderCalls(refs);
  if ('errors' in ordered) throw new TypeError([...ordered.errors.values()].map((e) => e.message).join('; '));
  const calls = config.calls.map((c, i): Call => ({
    name: c.name,
    service: c.service,
    endpoint: service(c.service),
    parts: compileParts(parsed[i]!, names),
    deps: refs[i]!.deps.map((d) => names.indexOf(d)),
    timeout: c.timeout,
    shape: {
      fields: c.fields == null ? null : c.fields.map(path),
      rename: Object.entries(c.rename ?? {}).map(([from, to]) => [path(from), path(to)] as const),
    },
  }));
  return {
    calls,
    order: ordered.order,
    merge: config.merge,
    partial: config.on_failure === 'partial',
    timeout: config.timeout,
    maxBody: config.max_body_size,
    forward: config.forward_headers.map((h) => h.toLowerCase()),
  };
}

/** The path and query of `call` with its values substituted, or the placeholder that has none. */
function target(
  ctx: PluginContext,
  call: Call,
  bodies: readonly unknown[],
): { ok: true; value: string } | { ok: false; reason: string } {
  let out = '';
  for (const part of call.parts) {
    if (typeof part === 'string') {
      out += part;
      continue;
    }
    const source = part.source;
    let raw: unknown;
    if (source.kind === 'resp') raw = getPath(bodies[part.call], source.path);
    else if (source.kind === 'query') raw = ctx.request.query.get(source.name) ?? undefined;
    else if (source.kind === 'header') raw = ctx.request.header(source.name);
    else raw = ctx.request.uriCaptures[source.name];
    const encoded = encodeValue(raw);
    if (encoded === null) return { ok: false, reason: `no usable value for {${part.label}}` };
    out += encoded;
  }
  return { ok: true, value: out };
}

function headersFor(ctx: PluginContext, state: State): string[] {
  const out = ['accept', 'application/json'];
  for (const name of PROPAGATED) for (const v of ctx.request.headerValues(name)) out.push(name, v);
  for (const name of state.forward)
    if (!PROPAGATED.includes(name)) for (const v of ctx.request.headerValues(name)) out.push(name, v);
  return out;
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

async function runCall(
  ctx: PluginContext,
  state: State,
  call: Call,
  bodies: unknown[],
  index: number,
  headers: readonly string[],
  overall: AbortSignal,
): Promise<Outcome> {
  if (call.endpoint === null) return { ok: false, reason: `service '${call.service}' not found` };
  if (overall.aborted) return { ok: false, reason: `aggregation timed out after ${state.timeout} ms` };
  const t = target(ctx, call, bodies);
  if (!t.ok) return t;
  const ac = new AbortController();
  let timedOut = false;
  const onOverall = (): void => ac.abort();
  overall.addEventListener('abort', onOverall, { once: true });
  const timer = setTimeout(() => {
    timedOut = true;
    ac.abort();
  }, call.timeout);
  try {
    const res = await call.endpoint.request({
      method: 'GET',
      pathAndQuery: t.value,
      headers,
      signal: ac.signal,
      maxBodyBytes: state.maxBody,
    });
    if (res.status < 200 || res.status > 299) return { ok: false, reason: `status ${res.status}` };
    let body: unknown = null;
    if (res.body.length > 0) {
      try {
        body = copyJson(JSON.parse(res.body.toString('utf8')));
      } catch (e) {
        return { ok: false, reason: e instanceof RangeError ? 'JSON nested too deeply' : 'body is not JSON' };
      }
    }
    bodies[index] = body;
    return { ok: true, body, value: shape(body, call.shape) };
  } catch (e) {
    if (timedOut) return { ok: false, reason: `timed out after ${call.timeout} ms` };
    if (overall.aborted) return { ok: false, reason: `aggregation timed out after ${state.timeout} ms` };
    const code = errorCode(e);
    if (code === EndpointErrorCode.BODY_TOO_LARGE)
      return { ok: false, reason: `body over ${state.maxBody} bytes` };
    if (code === EndpointErrorCode.NO_PEER) return { ok: false, reason: 'no healthy target' };
    if (code === EndpointErrorCode.UNAVAILABLE) return { ok: false, reason: 'service not proxied' };
    ctx.log.warn({ call: call.name, code, err: (e as Error).message }, 'aggregation call failed');
    return { ok: false, reason: 'connection failed' };
  } finally {
    clearTimeout(timer);
    overall.removeEventListener('abort', onOverall);
  }
}

function define(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

async function aggregate(ctx: PluginContext, state: State): Promise<void> {
  const calls = state.calls;
  const bodies = new Array<unknown>(calls.length).fill(undefined);
  const outcomes = new Array<Promise<Outcome>>(calls.length);
  const headers = headersFor(ctx, state);
  const overall = new AbortController();
  const timer = setTimeout(() => overall.abort(), state.timeout);
  // Under `fail`, the first call to fail answers: the calls still running are cancelled.
  let first: { name: string; reason: string } | null = null;
  const settle = (name: string, outcome: Outcome): Outcome => {
    if (!outcome.ok && first === null) {
      first = { name, reason: outcome.reason };
      if (!state.partial) overall.abort();
    }
    return outcome;
  };
  for (const i of state.order) {
    const call = calls[i]!;
    const run = (): Promise<Outcome> =>
      runCall(ctx, state, call, bodies, i, headers, overall.signal).then((o) => settle(call.name, o));
    outcomes[i] =
      call.deps.length === 0
        ? run()
        : Promise.all(call.deps.map((d) => outcomes[d]!)).then((deps) => {
            const failed = deps.findIndex((d) => !d.ok);
            return failed < 0
              ? run()
              : settle(call.name, {
                  ok: false,
                  reason: `dependency '${calls[call.deps[failed]!]!.name}' failed`,
                });
          });
  }
  let results: Outcome[];
  try {
    results = await Promise.all(outcomes);
  } finally {
    clearTimeout(timer);
  }
  if (first !== null && !state.partial) {
    const { name, reason } = first as { name: string; reason: string };
    respondError(ctx, ProxyErrorCode.AGGREGATION_FAILED, { subject: `'${name}' failed: ${reason}` });
    return;
  }
  const out = Object.create(null) as Record<string, unknown>;
  const failed: string[] = [];
  for (let i = 0; i < calls.length; i++) {
    const name = calls[i]!.name;
    const r = results[i]!;
    if (!r.ok) {
      failed.push(name);
      if (!state.merge) define(out, name, null);
    } else if (state.merge && r.value !== null && typeof r.value === 'object' && !Array.isArray(r.value)) {
      for (const key of Object.keys(r.value)) define(out, key, (r.value as Record<string, unknown>)[key]);
    } else {
      define(out, name, r.value);
    }
  }
  ctx.respond(200, out, failed.length > 0 ? { [PARTIAL_HEADER]: failed.join(', ') } : undefined);
}

export default definePlugin({
  ...responseAggregationSpec,
  init(config, ctx): State {
    const state = compile(config, (name) => ctx.service(name));
    for (const c of state.calls)
      if (c.endpoint === null)
        ctx.log.warn(
          { call: c.name, service: c.service },
          'aggregation call names no service; it always fails',
        );
    return state;
  },
  access: aggregate,
});

/**
 * Request tracing on the data plane, on the OpenTelemetry SDK: a `kong` server span per sampled
 * request (parent: the client's trace context, read in the configured formats) and a
 * `kong.upstream` client span for the upstream exchange (started at dispatch, ended when the
 * upstream response ends or fails), whose context is sent upstream in the configured formats.
 *
 * Spans are started with an explicit parent context: no context manager, no async hooks. A proxy
 * without a RequestTracer (tracing off) creates no trace at all: `ProxyRequest.span` stays null and
 * the one check per request is `span === null` (see docs/observability.md, "Tracing").
 *
 * The sampling decision is made once per request, before any span exists (`decide`): an
 * unsampled request (parent-based: a remote parent that is not sampled; or the root sampler says
 * no) creates no span and no context. It only forwards what propagation requires: the trace id
 * (the parent's, or a new one), a new span id and the sampled flag off, as Kong's opentelemetry
 * plugin and OpenTelemetry's non-recording spans do.
 */
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
  type Attributes,
  type AttributeValue,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  SamplingDecision,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type IdGenerator,
  type Sampler,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import type { Duplex } from 'node:stream';
import type { PhaseName } from '../plugins/api.js';
import type { CoreHandler, RawHeaders } from '../proxy/exchange.js';
import type { ProxyRequest } from '../proxy/request.js';
import type { RequestObserver } from '../observe/request-observer.js';
import { randomNonZeroHex } from '../observe/random-hex.js';
import {
  extractFirst,
  injectAll,
  type Extracted,
  type PropagationConfig,
  type TraceContext,
} from './propagation.js';
import { KONG_PHASE, tracesPluginPhase } from './instrumentations.js';
import { countedStatus } from '../proxy/grpc.js';

/**
 * How a tracer samples: `root` decides new traces (and every trace when not `parentBased`); when
 * `parentBased`, a remote parent's sampled flag decides (OpenTelemetry's ParentBased sampler with
 * its default delegates: a sampled parent is sampled, an unsampled or undecided one is not).
 */
export interface Sampling {
  readonly root: Sampler;
  readonly parentBased: boolean;
}

/** The SDK sampler `sampling` means (it agrees with `sampledTrace`, the decision made before). */
export function sdkSampler(sampling: Sampling): Sampler {
  return sampling.parentBased ? new ParentBasedSampler({ root: sampling.root }) : sampling.root;
}

const NO_ATTRIBUTES: Attributes = Object.freeze({});

/**
 * Whether the trace `traceId` (continuing `parent`, when there is one) is recorded: false only
 * where the SDK sampler would return NOT_RECORD, so a request decided true gets the same answer
 * from the SDK when its spans are started. (Requests decide with `rootDecision`, compiled once.)
 */
export function sampledTrace(sampling: Sampling, parent: TraceContext | null, traceId: string): boolean {
  if (sampling.parentBased && parent !== null) return parent.sampled === true;
  return sdkRootDecision(sampling.root)(traceId);
}

/**
 * OpenTelemetry's TraceIdRatioBased sampler with its ratio readable, so a request's decision is
 * the same comparison done here (`rootDecision`), without a call into the SDK per request.
 */
export class RatioSampler extends TraceIdRatioBasedSampler {
  constructor(readonly ratio: number) {
    super(ratio);
  }
}

/** TraceIdRatioBased's bound for `ratio`: a trace is sampled when its id's word is below it. */
export function ratioBound(ratio: number): number {
  const r = Number.isNaN(ratio) ? 0 : ratio >= 1 ? 1 : ratio <= 0 ? 0 : ratio;
  return r === 1 ? 0x100000000 : Math.floor(r * 0xffffffff);
}

/**
 * The XOR of a trace id's four 32-bit words, as TraceIdRatioBased computes it, or -1 when `id`
 * is not a valid trace id (32 hex digits, not all zero), which that sampler never samples.
 */
export function traceIdWord(id: string): number {
  if (id.length !== 32) return -1;
  let word = 0;
  let any = 0;
  for (let i = 0; i < 32; i += 8) {
    let part = 0;
    for (let j = i; j < i + 8; j++) {
      const c = id.charCodeAt(j);
      let v: number;
      if (c >= 48 && c <= 57) v = c - 48;
      else if (c >= 97 && c <= 102) v = c - 87;
      else if (c >= 65 && c <= 70) v = c - 55;
      else return -1;
      any |= v;
      part = (part << 4) | v;
    }
    word = (word ^ part) >>> 0;
  }
  return any === 0 ? -1 : word;
}

/** Whether a root sampler records a trace id: asks the SDK (for samplers not known here). */
function sdkRootDecision(root: Sampler): (traceId: string) => boolean {
  return (traceId) =>
    root.shouldSample(ROOT_CONTEXT, traceId, SERVER_SPAN, SpanKind.SERVER, NO_ATTRIBUTES, []).decision !==
    SamplingDecision.NOT_RECORD;
}

const ALWAYS = (): boolean => true;
const NEVER = (): boolean => false;

/**
 * Whether a root sampler records a trace id, compiled once per tracer: the SDK's always-on,
 * always-off and (as RatioSampler) trace-id-ratio samplers are answered here with their own
 * arithmetic (no call, no result object per request); any other sampler is asked.
 */
export function rootDecision(root: Sampler): (traceId: string) => boolean {
  if (root instanceof AlwaysOnSampler) return ALWAYS;
  if (root instanceof AlwaysOffSampler) return NEVER;
  if (root instanceof RatioSampler) {
    const bound = ratioBound(root.ratio);
    if (bound === 0) return NEVER;
    return (traceId) => {
      const word = traceIdWord(traceId);
      return word >= 0 && word < bound;
    };
  }
  return sdkRootDecision(root);
}

/** The trace id decided for the next root span (taken by the SDK's next generateTraceId). */
let decidedTraceId: string | null = null;

/**
 * `ids` for an SDK provider: a new root span gets the trace id its sampling was decided on
 * (span starts are synchronous, so the hand-off cannot be taken by another request).
 */
function withDecidedTraceIds(ids: IdGenerator): IdGenerator {
  return {
    generateTraceId: () => {
      const id = decidedTraceId;
      if (id === null) return ids.generateTraceId();
      decidedTraceId = null;
      return id;
    },
    generateSpanId: () => ids.generateSpanId(),
  };
}

/** Random ids (the default): crypto-random, from the data plane's pool of random hex. */
export const RANDOM_IDS: IdGenerator = {
  generateTraceId: () => randomNonZeroHex(32),
  generateSpanId: () => randomNonZeroHex(16),
};

/** The SDK provider behind a RequestTracer's `tracer` (its sampler and ids agree with `decide`). */
export function tracerProvider(o: {
  resource: Resource;
  sampling: Sampling;
  ids: IdGenerator;
  spanProcessors: SpanProcessor[];
}): TracerProvider {
  return new TracerProvider({
    resource: o.resource,
    sampler: sdkSampler(o.sampling),
    idGenerator: withDecidedTraceIds(o.ids),
    spanProcessors: o.spanProcessors,
  });
}

/** What a RequestTracer is made of (see tracingFromEnv for the DP's own). */
export interface TracerSettings {
  /** Made with `tracerProvider` from the same `sampling` and `ids`. */
  readonly tracer: Tracer;
  readonly sampling: Sampling;
  readonly ids: IdGenerator;
  readonly propagation: PropagationConfig;
  /** Flushes and stops the exporter (on shutdown). */
  readonly shutdown: () => Promise<void>;
  /** The server span's name (default `kong`). */
  readonly serverSpanName?: (request: ProxyRequest) => string;
  /** Adds attributes to the server span from the client's headers (zipkin's `tags_header`). */
  readonly decorate?: (attributes: Attributes, header: (name: string) => string | undefined) => void;
}

/** The server span name (Kong's root span). */
export const SERVER_SPAN = 'kong';
/** The upstream exchange's span name. */
export const UPSTREAM_SPAN = 'kong.upstream';

/**
 * Starts one RequestTrace per request and ends it when the request is over (a RequestObserver,
 * so the proxy's request-end hook ends the server span).
 */
export class RequestTracer implements RequestObserver {
  /** Whether a new trace is recorded (every trace when not parent-based), by its trace id. */
  readonly sampleRoot: (traceId: string) => boolean;

  constructor(readonly settings: TracerSettings) {
    this.sampleRoot = rootDecision(settings.sampling.root);
  }

  /** A trace for `request` (nothing is decided or created until first needed). */
  start(request: ProxyRequest): RequestTrace {
    return new RequestTrace(this, request);
  }

  requestEnded(request: ProxyRequest): void {
    request.span?.end(request);
  }

  shutdown(): Promise<void> {
    return this.settings.shutdown();
  }
}

/** Reads a header of node's flat raw header array (lower-case `name`). */
function rawReader(raw: readonly string[]): (name: string) => string | undefined {
  return (name) => {
    for (let i = 0; i < raw.length; i += 2) {
      const n = raw[i]!;
      if (n.length === name.length && n.toLowerCase() === name) return raw[i + 1];
    }
    return undefined;
  };
}

/** A tracestate header as OpenTelemetry parses it (malformed entries dropped), or undefined. */
function parseTraceState(raw: string | null): TraceState | undefined {
  if (raw === null) return undefined;
  try {
    return new TraceState(raw);
  } catch {
    return undefined;
  }
}

function parentContext(c: TraceContext) {
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: c.traceId,
    spanId: c.spanId,
    traceFlags: c.sampled === true ? TraceFlags.SAMPLED : TraceFlags.NONE,
    isRemote: true,
    traceState: parseTraceState(c.traceState),
  });
}

/** Now, in epoch milliseconds with sub-millisecond precision (OpenTelemetry's TimeInput). */
const now = (): number => performance.timeOrigin + performance.now();

const UNDECIDED = 0;
const UNSAMPLED = 1;
const SAMPLED = 2;

/**
 * The trace of one request: its sampling decision, its server span and its upstream span once
 * dispatched. The decision (and, when sampled, the server span, with the request's start time) is
 * made when first needed (dispatch, the trace id, or the end of the request), so a route's
 * `opentelemetry`/`zipkin` plugin can put its own exporter, sampling and header formats in place
 * first (`use`). An unsampled trace holds its trace id and nothing else.
 */
export class RequestTrace {
  private tracer: RequestTracer;
  private state: typeof UNDECIDED | typeof UNSAMPLED | typeof SAMPLED = UNDECIDED;
  private id = '';
  private serverSpan: Span | null = null;
  private upstreamSpan: Span | null = null;
  private from: Extracted | null = null;
  private fromB3Single = false;
  private ended = false;
  /** Plugin spans that ended before the decision: [name, start, end, error]. */
  private pending: [string, number, number, unknown][] | null = null;

  constructor(
    tracer: RequestTracer,
    private readonly request: ProxyRequest,
  ) {
    this.tracer = tracer;
  }

  /** The settings the request is traced with. */
  private get settings(): TracerSettings {
    return this.tracer.settings;
  }

  /** Traces this request with `tracer` instead (no effect once its sampling is decided). */
  use(tracer: RequestTracer): void {
    if (this.state === UNDECIDED) this.tracer = tracer;
  }

  /** Whether the request is recorded (decides it when not yet decided). */
  get sampled(): boolean {
    if (this.state === UNDECIDED) this.decide();
    return this.state === SAMPLED;
  }

  /**
   * Reads the client's trace context and decides the sampling; when sampled, starts the server
   * span and records the plugin spans kept until now. Unsampled, nothing is created.
   */
  private decide(): void {
    const tracer = this.tracer;
    const settings = tracer.settings;
    const read = rawReader(this.request.rawHeaders);
    const from = extractFirst(settings.propagation, read);
    this.from = from;
    this.fromB3Single = from !== null && from.format === 'b3' && read('x-b3-traceid') === undefined;
    const parent = from === null ? null : from.context;
    const id = parent === null ? settings.ids.generateTraceId() : parent.traceId;
    this.id = id;
    const sampled =
      settings.sampling.parentBased && parent !== null ? parent.sampled === true : tracer.sampleRoot(id);
    if (!sampled) {
      this.state = UNSAMPLED;
      this.pending = null;
      return;
    }
    this.state = SAMPLED;
    this.serverSpan = this.startServer(read, parent);
    const pending = this.pending;
    this.pending = null;
    if (pending !== null) for (const p of pending) this.recordPlugin(p[0], p[1], p[2], p[3]);
  }

  /** Whether the plugins of `phase` get spans (GATEHOUSE_TRACING_INSTRUMENTATIONS). */
  tracesPhase(phase: PhaseName): boolean {
    return tracesPluginPhase(phase);
  }

  /**
   * Runs `handler` (plugin `name`'s handler of `phase`) and records it as a span
   * `kong.<phase>.plugin.<name>` under the server span, ending when the handler returns or its
   * promise settles. Returns what the handler returned. An unsampled trace just runs it.
   */
  plugin(phase: PhaseName, name: string, handler: () => unknown): unknown {
    if (this.state === UNSAMPLED) return handler();
    const spanName = `kong.${KONG_PHASE[phase]}.plugin.${name}`;
    const start = now();
    let r: unknown;
    try {
      r = handler();
    } catch (err) {
      this.recordPlugin(spanName, start, now(), err);
      throw err;
    }
    if (typeof r === 'object' && r !== null && typeof (r as { then?: unknown }).then === 'function') {
      (r as Promise<unknown>).then(
        () => this.recordPlugin(spanName, start, now(), null),
        (err: unknown) => this.recordPlugin(spanName, start, now(), err),
      );
    } else this.recordPlugin(spanName, start, now(), null);
    return r;
  }

  /**
   * Records one plugin span. Before the decision it is kept, and made (with the times it had) when
   * the server span is, so a tracing plugin's rewrite can still choose the tracer; unsampled, dropped.
   */
  private recordPlugin(name: string, start: number, end: number, error: unknown): void {
    if (this.state === UNDECIDED) {
      (this.pending ??= []).push([name, start, end, error]);
      return;
    }
    if (this.serverSpan === null) return;
    const span = this.settings.tracer.startSpan(
      name,
      { kind: SpanKind.INTERNAL, startTime: start },
      trace.setSpan(ROOT_CONTEXT, this.serverSpan),
    );
    if (error !== null) {
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: error instanceof Error ? error.message : 'the handler failed',
      });
    }
    span.end(end);
  }

  /** Sets an attribute of the server span (nothing when the request is not sampled). */
  setAttribute(name: string, value: AttributeValue): void {
    if (this.sampled) this.serverSpan!.setAttribute(name, value);
  }

  /** The trace id (32 hex digits), sampled or not, e.g. for a response header. */
  get traceId(): string {
    if (this.state === UNDECIDED) this.decide();
    return this.id;
  }

  private startServer(read: (name: string) => string | undefined, parent: TraceContext | null): Span {
    const request = this.request;
    const settings = this.settings;
    const attributes: Attributes = {
      'http.request.method': request.method,
      'url.path': request.path,
      'url.scheme': request.scheme,
      'client.address': request.clientIp,
      'network.protocol.version': request.req.httpVersion,
    };
    if (request.rawQuery !== '') attributes['url.query'] = request.rawQuery;
    if (request.host !== undefined) attributes['server.address'] = request.host;
    const ua = read('user-agent');
    if (ua !== undefined) attributes['user_agent.original'] = ua;
    settings.decorate?.(attributes, read);
    const name = settings.serverSpanName?.(request) ?? SERVER_SPAN;
    const options = {
      kind: SpanKind.SERVER,
      attributes,
      startTime: performance.timeOrigin + request.startedAt,
    };
    if (parent !== null) return settings.tracer.startSpan(name, options, parentContext(parent));
    // A new trace: the SDK takes the trace id the decision was made on.
    decidedTraceId = this.id;
    try {
      return settings.tracer.startSpan(name, options, ROOT_CONTEXT);
    } finally {
      decidedTraceId = null;
    }
  }

  /**
   * Writes the trace context into the upstream headers (the configured formats; `clear` headers
   * removed). Sampled: starts the upstream span, whose context is sent, and returns `handler`
   * wrapped so the span ends with the upstream response. Unsampled: sends the trace id with a new
   * span id and the sampled flag off, and returns `handler` as it is.
   */
  upstream(request: ProxyRequest, handler: CoreHandler): CoreHandler {
    if (this.state === UNDECIDED) this.decide();
    const settings = this.settings;
    const propagation = settings.propagation;
    if (this.state === UNSAMPLED) {
      const parent = this.from === null ? null : this.from.context;
      const context: TraceContext = {
        traceId: this.id,
        spanId: settings.ids.generateSpanId(),
        sampled: false,
        traceState: parent === null ? null : parseTraceState(parent.traceState)?.serialize() || null,
      };
      setHeaders(
        request.headers,
        propagation.clear,
        injectAll(propagation, context, this.from, this.fromB3Single),
      );
      return handler;
    }
    const span = settings.tracer.startSpan(
      UPSTREAM_SPAN,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'http.request.method': request.upstreamMethod,
          'url.path': request.upstreamPath,
          'server.address': request.target.hostHeader,
        },
      },
      trace.setSpan(ROOT_CONTEXT, this.serverSpan!),
    );
    this.upstreamSpan = span;
    const sc = span.spanContext();
    const context: TraceContext = {
      traceId: sc.traceId,
      spanId: sc.spanId,
      sampled: (sc.traceFlags & 1) === 1, // TraceFlags.SAMPLED
      // The parent's tracestate as the SDK parsed it (malformed entries dropped), never the raw header.
      traceState: sc.traceState?.serialize() || null,
    };
    setHeaders(
      request.headers,
      propagation.clear,
      injectAll(propagation, context, this.from, this.fromB3Single),
    );
    return new TracedExchange(span, handler);
  }

  /** Ends the server span (and an upstream span the exchange did not end) with the response's facts. */
  end(request: ProxyRequest): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.sampled) return;
    const span = this.serverSpan!;
    const status = countedStatus(request);
    const upstream = this.upstreamSpan;
    if (upstream !== null && upstream.isRecording()) upstream.end();
    if (!span.isRecording()) return;
    span.setAttribute('http.response.status_code', status);
    const entry = request.entry;
    if (entry !== null) {
      const route = entry.route;
      span.setAttribute('kong.route.id', route.id);
      if (route.name) span.setAttribute('kong.route.name', route.name);
      const service = entry.service;
      if (service !== null) {
        span.setAttribute('kong.service.id', service.id);
        if (service.name) span.setAttribute('kong.service.name', service.name);
      }
    }
    if (!request.res.writableFinished) span.setAttribute('kong.client.aborted', true);
    if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  }
}

/**
 * Replaces the headers named in `clear` and in `pairs` in node's flat upstream header array,
 * then appends `pairs` (index 0/1, the Host header, is never touched).
 */
function setHeaders(
  headers: string[],
  clear: readonly string[],
  pairs: ReadonlyArray<readonly [string, string]>,
): void {
  let w = 2;
  for (let i = 2; i < headers.length; i += 2) {
    const name = headers[i]!;
    const n = name.length;
    let drop = false;
    // Names are compared (lower-cased) only when their lengths match.
    for (const c of clear) if (c.length === n && c.toLowerCase() === name.toLowerCase()) drop = true;
    for (const p of pairs) if (p[0].length === n && p[0] === name.toLowerCase()) drop = true;
    if (drop) continue;
    headers[w] = headers[i]!;
    headers[w + 1] = headers[i + 1]!;
    w += 2;
  }
  if (w !== headers.length) headers.length = w; // (setting length costs even when unchanged)
  for (const p of pairs) headers.push(p[0], p[1]);
}

/** The upstream handler, ending the upstream span with the response's status or the error. */
class TracedExchange implements CoreHandler {
  constructor(
    private readonly span: Span,
    private readonly inner: CoreHandler,
  ) {}

  onConnect(abort: (reason?: Error) => void): void {
    this.inner.onConnect(abort);
  }

  onHeaders(statusCode: number, rawHeaders: RawHeaders, resume: () => void): boolean {
    if (statusCode >= 200) {
      this.span.setAttribute('http.response.status_code', statusCode);
      if (statusCode >= 500) this.span.setStatus({ code: SpanStatusCode.ERROR });
    }
    return this.inner.onHeaders(statusCode, rawHeaders, resume);
  }

  onData(chunk: Buffer): boolean {
    return this.inner.onData(chunk);
  }

  onComplete(trailers: string[] | null): void {
    this.span.end();
    this.inner.onComplete(trailers);
  }

  onUpgrade(statusCode: number, rawHeaders: Buffer[], socket: Duplex): void {
    this.span.setAttribute('http.response.status_code', statusCode);
    this.span.end();
    this.inner.onUpgrade(statusCode, rawHeaders, socket);
  }

  onError(err: Error): void {
    const code = (err as { code?: unknown }).code;
    this.span.setAttribute('error.type', typeof code === 'string' ? code : err.name);
    this.span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
    this.span.end();
    this.inner.onError(err);
  }
}

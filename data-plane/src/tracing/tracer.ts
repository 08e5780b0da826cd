/**
 * Request tracing on the data plane, on the OpenTelemetry SDK: a `kong` server span per proxied
 * request (parent: the client's trace context, read in the configured formats) and a
 * `kong.upstream` client span for the upstream exchange (started at dispatch, ended when the
 * upstream response ends or fails), whose context is sent upstream in the configured formats.
 *
 * Spans are started with an explicit parent context: no context manager, no async hooks. A proxy
 * without a RequestTracer (tracing off) creates no span object: `ProxyRequest.span` stays null and
 * the one check per request is `span === null` (see docs/observability.md, "Tracing").
 */
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
  type Attributes,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import type { PhaseName } from '../plugins/api.js';
import type { CoreHandler } from '../proxy/exchange.js';
import type { ProxyRequest } from '../proxy/request.js';
import type { RequestObserver } from '../observe/request-observer.js';
import {
  extractFirst,
  injectAll,
  type Extracted,
  type PropagationConfig,
  type TraceContext,
} from './propagation.js';
import { KONG_PHASE, tracesPluginPhase } from './instrumentations.js';

/** What a RequestTracer is made of (see tracingFromEnv for the DP's own). */
export interface TracerSettings {
  readonly tracer: Tracer;
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
  constructor(readonly settings: TracerSettings) {}

  /** A trace for `request`, starting now (its spans are created when first needed). */
  start(request: ProxyRequest): RequestTrace {
    return new RequestTrace(this.settings, request);
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

function parentContext(c: TraceContext) {
  let state: TraceState | undefined;
  if (c.traceState !== null) {
    try {
      state = new TraceState(c.traceState);
    } catch {
      state = undefined;
    }
  }
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: c.traceId,
    spanId: c.spanId,
    traceFlags: c.sampled === true ? TraceFlags.SAMPLED : TraceFlags.NONE,
    isRemote: true,
    traceState: state,
  });
}

/** Now, in epoch milliseconds with sub-millisecond precision (OpenTelemetry's TimeInput). */
const now = (): number => performance.timeOrigin + performance.now();

/**
 * The trace of one request: its server span, and its upstream span once dispatched. The server
 * span is created when first needed (dispatch, or the end of the request) with the request's start
 * time, so a route's `opentelemetry`/`zipkin` plugin can put its own exporter, sampling and header
 * formats in place first (`use`).
 */
export class RequestTrace {
  private settings: TracerSettings;
  private readonly startTime: number;
  private serverSpan: Span | null = null;
  private upstreamSpan: Span | null = null;
  private from: Extracted | null = null;
  private fromB3Single = false;
  private ended = false;
  /** Plugin spans that ended before the server span existed: [name, start, end, error]. */
  private pending: [string, number, number, unknown][] | null = null;

  constructor(
    settings: TracerSettings,
    private readonly request: ProxyRequest,
  ) {
    this.settings = settings;
    this.startTime = now();
  }

  /** Traces this request with `settings` instead (no effect once its server span exists). */
  use(settings: TracerSettings): void {
    if (this.serverSpan === null) this.settings = settings;
  }

  /** Whether the plugins of `phase` get spans (GATEHOUSE_TRACING_INSTRUMENTATIONS). */
  tracesPhase(phase: PhaseName): boolean {
    return tracesPluginPhase(phase);
  }

  /**
   * Runs `handler` (plugin `name`'s handler of `phase`) and records it as a span
   * `kong.<phase>.plugin.<name>` under the server span, ending when the handler returns or its
   * promise settles. Returns what the handler returned.
   */
  plugin(phase: PhaseName, name: string, handler: () => unknown): unknown {
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
   * Records one plugin span. Before the server span exists it is kept and made when the server
   * span is (so a tracing plugin's rewrite can still choose the tracer), with the times it had.
   */
  private recordPlugin(name: string, start: number, end: number, error: unknown): void {
    if (this.serverSpan === null) {
      (this.pending ??= []).push([name, start, end, error]);
      return;
    }
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

  /** The server span (started, with the request's start time, on first use). */
  get server(): Span {
    if (this.serverSpan === null) {
      this.serverSpan = this.startServer();
      const pending = this.pending;
      this.pending = null;
      if (pending !== null) for (const p of pending) this.recordPlugin(p[0], p[1], p[2], p[3]);
    }
    return this.serverSpan;
  }

  /** The trace id (32 hex digits), e.g. for a response header or the access log. */
  get traceId(): string {
    return this.server.spanContext().traceId;
  }

  private startServer(): Span {
    const request = this.request;
    const settings = this.settings;
    const read = rawReader(request.rawHeaders);
    const from = extractFirst(settings.propagation, read);
    this.from = from;
    this.fromB3Single = from !== null && from.format === 'b3' && read('x-b3-traceid') === undefined;
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
    return settings.tracer.startSpan(
      settings.serverSpanName?.(request) ?? SERVER_SPAN,
      { kind: SpanKind.SERVER, attributes, startTime: this.startTime },
      from === null ? ROOT_CONTEXT : parentContext(from.context),
    );
  }

  /**
   * Starts the upstream span, writes its context into the upstream headers (the configured
   * formats; `clear` headers removed), and returns `handler` wrapped so the span ends with the
   * upstream response.
   */
  upstream(request: ProxyRequest, handler: CoreHandler): CoreHandler {
    const server = this.server;
    const propagation = this.settings.propagation;
    const span = this.settings.tracer.startSpan(
      UPSTREAM_SPAN,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'http.request.method': request.upstreamMethod,
          'url.path': request.upstreamPath,
          'server.address': request.target.hostHeader,
        },
      },
      trace.setSpan(ROOT_CONTEXT, server),
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
    const span = this.server;
    const status = request.res.statusCode;
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
    const lower = headers[i]!.toLowerCase();
    let drop = false;
    for (const c of clear) if (c.toLowerCase() === lower) drop = true;
    for (const p of pairs) if (p[0] === lower) drop = true;
    if (drop) continue;
    headers[w] = headers[i]!;
    headers[w + 1] = headers[i + 1]!;
    w += 2;
  }
  headers.length = w;
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

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
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

  onError(err: Error): void {
    const code = (err as { code?: unknown }).code;
    this.span.setAttribute('error.type', typeof code === 'string' ? code : err.name);
    this.span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
    this.span.end();
    this.inner.onError(err);
  }
}

/**
 * What the tracing plugins (`opentelemetry`, `zipkin`) share at run time: a tracer per distinct
 * exporter setting, made on the first request that needs it (a snapshot compiled but never served
 * starts nothing) and kept across snapshots (same config ⇒ same batch queue), and the per-request
 * hook that puts it on the request's trace.
 */
import type { Attributes } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  type IdGenerator,
  type SpanExporter,
  type TracerProvider,
} from '@opentelemetry/sdk-trace';
import type { PluginContext } from '../plugins/api.js';
import type { PluginRequest } from '../plugins/runtime/context.js';
import type { ProxyRequest } from '../proxy/request.js';
import type { PropagationConfig } from './propagation.js';
import {
  RANDOM_IDS,
  RatioSampler,
  RequestTracer,
  tracerProvider,
  type Sampling,
  type TracerSettings,
} from './tracer.js';

export interface PluginTracerOptions {
  /** Identifies the exporter setting (providers are shared by equal keys). */
  readonly key: string;
  /** The exporter; null = spans are not reported (propagation only). */
  readonly exporter: (() => SpanExporter) | null;
  readonly resource: Attributes;
  readonly sampling: Sampling;
  readonly batch: { maxExportBatchSize: number; scheduledDelayMillis: number; maxQueueSize: number };
  readonly idGenerator?: IdGenerator;
  readonly propagation: PropagationConfig;
  readonly serverSpanName?: TracerSettings['serverSpanName'];
  readonly decorate?: TracerSettings['decorate'];
}

interface Provider {
  readonly provider: TracerProvider;
  readonly tracer: TracerSettings['tracer'];
}

/** Providers by key; the oldest is flushed and shut down past the bound. */
const providers = new Map<string, Provider>();
const MAX_PROVIDERS = 32;

function providerFor(o: PluginTracerOptions): Provider {
  const found = providers.get(o.key);
  if (found !== undefined) return found;
  const provider = tracerProvider({
    resource: resourceFromAttributes(o.resource),
    sampling: o.sampling,
    ids: o.idGenerator ?? RANDOM_IDS,
    spanProcessors:
      o.exporter === null
        ? []
        : [
            new BatchSpanProcessor({
              exporter: o.exporter(),
              maxExportBatchSize: Math.min(o.batch.maxExportBatchSize, o.batch.maxQueueSize),
              scheduledDelayMillis: o.batch.scheduledDelayMillis,
              maxQueueSize: o.batch.maxQueueSize,
            }),
          ],
  });
  const p = { provider, tracer: provider.getTracer('gatehouse-data-plane') };
  providers.set(o.key, p);
  if (providers.size > MAX_PROVIDERS) {
    const [oldestKey, oldest] = providers.entries().next().value as [string, Provider];
    providers.delete(oldestKey);
    void oldest.provider.shutdown().catch(() => undefined);
  }
  return p;
}

/** A plugin's tracer: the SDK provider is created on first use. */
export function pluginTracer(o: PluginTracerOptions): RequestTracer {
  let made: Provider | null = null;
  const settings: TracerSettings = {
    get tracer() {
      return (made ??= providerFor(o)).tracer;
    },
    sampling: o.sampling,
    ids: o.idGenerator ?? RANDOM_IDS,
    propagation: o.propagation,
    serverSpanName: o.serverSpanName,
    decorate: o.decorate,
    shutdown: () => (made === null ? Promise.resolve() : made.provider.shutdown()),
  };
  return new RequestTracer(settings);
}

/** The proxy's request behind a plugin context (bundled plugins run on the PluginRequest). */
export function proxiedOf(ctx: PluginContext): ProxyRequest {
  return (ctx as PluginRequest).proxied;
}

/**
 * The plugin's part of a request (its rewrite phase): the request is traced with `tracer`'s
 * settings, whether the data plane traces it already (its exporter and formats are replaced) or not.
 */
export function traceWith(ctx: PluginContext, tracer: RequestTracer): void {
  const request = proxiedOf(ctx);
  const current = request.span;
  if (current === null) request.span = tracer.start(request);
  else current.use(tracer);
}

/** The log phase: ends the server span (the data plane's observer may have done so already). */
export function endTrace(ctx: PluginContext): void {
  const request = proxiedOf(ctx);
  request.span?.end(request);
}

/** `http_response_header_for_traceid`: the trace id on the response. */
export function traceIdHeader(ctx: PluginContext, header: string | null | undefined): void {
  if (!header) return;
  const span = proxiedOf(ctx).span;
  if (span !== null) ctx.setResponseHeader(header, span.traceId);
}

/** Kong's sampling: a parent's decision is kept; a new trace is sampled at `ratio`. */
export function ratioSampling(ratio: number): Sampling {
  return { root: new RatioSampler(ratio), parentBased: true };
}

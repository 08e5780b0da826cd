/**
 * Facts about a finished request that the access log and the log plugins both read: its latencies
 * (Kong's `latencies.kong/proxy/request`, in milliseconds, from observe/latencies.ts, the one place
 * they are derived), the bytes it took on the wire (`ProxyRequest.end()` counts them once), and its
 * trace and correlation ids. Computed once per request (kept on it), only when something logs it;
 * call it once the request ended (the observers and the log phase run after `end()`).
 */
import type { ProxyRequest } from '../proxy/request.js';
import { gatewayMs, totalMs, upstreamMs } from './latencies.js';
import { randomHex } from './random-hex.js';

export interface ExchangeFacts {
  /** Kong's `request.id`: a random hex id (X-Kong-Request-Id has no equivalent here yet). */
  readonly id: string;
  /** Epoch milliseconds the request arrived (Kong's `started_at`). */
  readonly startedAt: number;
  /** Whole request, first byte in to last byte out (Kong's `latencies.request`). */
  readonly totalMs: number;
  /** Time the gateway took before the upstream was called (Kong's `latencies.kong`). */
  readonly gatewayMs: number;
  /** Upstream time to the response head; -1 when the upstream was not called (Kong's `latencies.proxy`). */
  readonly upstreamMs: number;
  /** Bytes read from the client for this request (head and body). */
  readonly requestBytes: number;
  /** Bytes written to the client for this response (head and body). */
  readonly responseBytes: number;
  /** The W3C trace id of a `traceparent` the request carried (sent upstream), or null. */
  readonly traceId: string | null;
  /** The correlation id sent upstream (Kong-Request-ID, X-Request-ID or X-Correlation-ID), or null. */
  readonly correlationId: string | null;
}

/** Correlation headers, lower case, in the order they are looked for. */
const CORRELATION_HEADERS = ['kong-request-id', 'x-request-id', 'x-correlation-id'] as const;
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}/;
/** Lengths of the names looked for: other headers are skipped without lower-casing them. */
const WANTED_LENGTHS: ReadonlySet<number> = new Set(
  ['traceparent', ...CORRELATION_HEADERS].map((n) => n.length),
);

/** A random 128-bit id as 32 hex digits (Kong's request id shape). */
export const randomId = (): string => randomHex(32);

/** Milliseconds rounded to the microsecond; -1 (not reached) stays -1 (the logs' latencies). */
export const roundMs = (ms: number): number => (ms < 0 ? -1 : Math.round(ms * 1000) / 1000);
const round = roundMs;

/** The traceparent and the first correlation header (in CORRELATION_HEADERS order) of `raw`, in one pass. */
function ids(raw: readonly string[]): [traceparent: string | null, correlation: string | null] {
  let traceparent: string | null = null;
  const found: (string | null)[] = [null, null, null];
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!;
    if (!WANTED_LENGTHS.has(n.length)) continue;
    const lower = n.toLowerCase();
    if (lower === 'traceparent') traceparent ??= raw[i + 1]!;
    else {
      const k = (CORRELATION_HEADERS as readonly string[]).indexOf(lower);
      if (k >= 0) found[k] ??= raw[i + 1]!;
    }
  }
  return [traceparent, found[0] ?? found[1] ?? found[2] ?? null];
}

/** The facts of `request` (call once it ended); the same object on every call. */
export function exchangeFacts(request: ProxyRequest): ExchangeFacts {
  // Kept on the request (a field set in its constructor), not in a WeakMap: an ephemeron per
  // request cost the access log about a microsecond of its four.
  const known = request.facts;
  if (known != null) return known;
  const total = totalMs(request);
  // The upstream headers carry what plugins set (correlation-id) and the client's own ids.
  const sent = request.headers.length > 0 ? request.headers : request.rawHeaders;
  const [traceparent, correlationId] = ids(sent);
  const facts: ExchangeFacts = {
    id: randomId(),
    startedAt: Math.round(performance.timeOrigin + request.startedAt),
    totalMs: round(total),
    gatewayMs: round(gatewayMs(request)),
    upstreamMs: round(upstreamMs(request)),
    requestBytes: request.bytesIn,
    responseBytes: request.bytesOut,
    // test + slice: no match array per request.
    traceId: traceparent !== null && TRACEPARENT.test(traceparent) ? traceparent.slice(3, 35) : null,
    correlationId,
  };
  request.facts = facts;
  return facts;
}

/**
 * Facts about a finished request that the access log and the log plugins both read: its latencies
 * (Kong's `latencies.kong/proxy/request`, in milliseconds), the bytes it took on the wire and its
 * trace and correlation ids. Computed once per request (memoised), only when something logs it.
 *
 * Bytes: node counts bytes per connection, not per request. An HTTP/1.1 connection carries one
 * response at a time, so a request's bytes are the connection's counters now minus what they were
 * when the previous request on it ended (kept on the socket). The request side is approximate when
 * a client pipelines (the next request may already be read).
 */
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { ProxyRequest } from '../proxy/request.js';

const kWritten = Symbol('gatehouse.log.bytesWritten');
const kRead = Symbol('gatehouse.log.bytesRead');
type CountedSocket = Socket & { [kWritten]?: number; [kRead]?: number };

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
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}/;

const memo = new WeakMap<ProxyRequest, ExchangeFacts>();

const round = (ms: number): number => Math.round(ms * 1000) / 1000;

function headerIn(raw: readonly string[], name: string): string | null {
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!;
    if (n.length === name.length && n.toLowerCase() === name) return raw[i + 1]!;
  }
  return null;
}

const bytesMemo = new WeakMap<ProxyRequest, readonly [read: number, written: number]>();

/**
 * The bytes of `request` (read, written): what its connection counted since the previous request
 * on it ended. Advances the connection's marks once per request, so an observer that skips a
 * request (sampling) still calls it to keep the next request's count right.
 */
export function exchangeBytes(request: ProxyRequest): readonly [read: number, written: number] {
  let bytes = bytesMemo.get(request);
  if (bytes === undefined) bytesMemo.set(request, (bytes = bytesSinceLast(request.socket)));
  return bytes;
}

function bytesSinceLast(socket: CountedSocket): [read: number, written: number] {
  const read = socket.bytesRead;
  const written = socket.bytesWritten;
  const r = read - (socket[kRead] ?? 0);
  const w = written - (socket[kWritten] ?? 0);
  socket[kRead] = read;
  socket[kWritten] = written;
  return [r, w];
}

/** The facts of `request` (call once its response closed); the same object on every call. */
export function exchangeFacts(request: ProxyRequest): ExchangeFacts {
  const known = memo.get(request);
  if (known !== undefined) return known;
  const now = performance.now();
  const total = now - request.startedAt;
  const upStart = request.upstreamStartedAt;
  const upHead = request.upstreamHeadersAt;
  const [requestBytes, responseBytes] = exchangeBytes(request);
  // The upstream headers carry what plugins set (correlation-id) and the client's own ids.
  const sent = request.headers.length > 0 ? request.headers : request.rawHeaders;
  let correlationId: string | null = null;
  for (const name of CORRELATION_HEADERS) {
    correlationId = headerIn(sent, name);
    if (correlationId !== null) break;
  }
  const traceparent = headerIn(sent, 'traceparent');
  const trace = traceparent === null ? null : TRACEPARENT.exec(traceparent);
  const facts: ExchangeFacts = {
    id: randomUUID().replaceAll('-', ''),
    startedAt: Math.round(Date.now() - total),
    totalMs: round(total),
    gatewayMs: round(upStart < 0 ? total : upStart - request.startedAt),
    upstreamMs: upStart < 0 || upHead < 0 ? -1 : round(upHead - upStart),
    requestBytes,
    responseBytes,
    traceId: trace === null ? null : trace[1]!,
    correlationId,
  };
  memo.set(request, facts);
  return facts;
}

/**
 * gRPC at the proxy: what makes a request a gRPC one (decided once per request, as Kong's
 * `is_grpc_request`: a `content-type` starting with `application/grpc`), the `grpc-timeout`
 * deadline, and the gateway's own answers as gRPC: HTTP 200, `content-type: application/grpc`,
 * a trailers-only response whose `grpc-status` is derived from the error table's HTTP status
 * (Kong's HTTP → gRPC map, kong/pdk/response.lua) and whose `grpc-message` is the table's
 * message. The messages stay in one place (proxy/errors.ts); this file holds only the status map.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { ServerHttp2Stream } from 'node:http2';

/** gRPC status codes the gateway answers with (grpc/doc/statuscodes.md). */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/**
 * Kong's HTTP_TO_GRPC_STATUS (kong/pdk/response.lua), plus 502 → UNAVAILABLE (Kong: UNKNOWN),
 * which is what gRPC's own mapping for intermediaries says and what clients retry on.
 * Any other status is UNKNOWN, as in Kong.
 */
const HTTP_TO_GRPC: ReadonlyMap<number, number> = new Map([
  [200, GrpcStatus.OK],
  [400, GrpcStatus.INVALID_ARGUMENT],
  [401, GrpcStatus.UNAUTHENTICATED],
  [403, GrpcStatus.PERMISSION_DENIED],
  [404, GrpcStatus.NOT_FOUND],
  [409, GrpcStatus.ALREADY_EXISTS],
  [429, GrpcStatus.RESOURCE_EXHAUSTED],
  [499, GrpcStatus.CANCELLED],
  [500, GrpcStatus.INTERNAL],
  [501, GrpcStatus.UNIMPLEMENTED],
  [502, GrpcStatus.UNAVAILABLE],
  [503, GrpcStatus.UNAVAILABLE],
  [504, GrpcStatus.DEADLINE_EXCEEDED],
]);

/** The gRPC status a gateway answer of HTTP `status` is given on a gRPC request. */
export function grpcStatusOf(status: number): number {
  return HTTP_TO_GRPC.get(status) ?? GrpcStatus.UNKNOWN;
}

const kGrpc = Symbol('gatehouse.grpc');
type MarkedRequest = IncomingMessage & { [kGrpc]?: boolean };

/** A gRPC content type: `application/grpc`, `application/grpc+proto`, `application/grpc;…`. */
export function isGrpcContentType(value: string | undefined | null): boolean {
  if (value == null || value.length < 16) return false;
  if (value.slice(0, 16).toLowerCase() !== 'application/grpc') return false;
  const next = value.charCodeAt(16);
  // `application/grpc-web…` is gRPC-Web (HTTP/1.1 framing), not gRPC.
  return Number.isNaN(next) || next === 0x2b /* + */ || next === 0x3b /* ; */ || next === 0x20;
}

/** The request is a gRPC call (decided once, then remembered on the request). */
export function isGrpcRequest(req: IncomingMessage | undefined): boolean {
  // gRPC is HTTP/2 only: an HTTP/1.x request is answered before any lookup, and is not marked
  // (a property added to every IncomingMessage would change its shape on the hot path).
  if (req === undefined || req.httpVersionMajor !== 2) return false;
  const marked = req as MarkedRequest;
  const known = marked[kGrpc];
  if (known !== undefined) return known;
  // The raw array, not `req.headers` (node builds that object on first use: not on the hot path).
  const raw = (req.rawHeaders as string[] | undefined) ?? [];
  let grpc = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 12 && name.toLowerCase() === 'content-type') {
      grpc = isGrpcContentType(raw[i + 1]);
      break;
    }
  }
  marked[kGrpc] = grpc;
  return grpc;
}

/** Largest deadline taken from `grpc-timeout`: its 8 digits of hours, well past any read_timeout. */
const MAX_TIMEOUT_MS = 99_999_999 * 3_600_000;
const UNIT_MS: Readonly<Record<string, number>> = {
  H: 3_600_000,
  M: 60_000,
  S: 1_000,
  m: 1,
  u: 0.001,
  n: 0.000001,
};

/**
 * The deadline of a `grpc-timeout` value in milliseconds (at least 1 for any positive value), or
 * null when it is absent or malformed; 0 for a zero timeout, already expired (then it is not a deadline: gRPC's grammar is 1 to 8 ASCII
 * digits and one unit of H, M, S, m, u, n). Never throws.
 */
export function parseGrpcTimeout(value: string | undefined | null): number | null {
  if (typeof value !== 'string' || value.length < 2 || value.length > 9) return null;
  const unit = UNIT_MS[value[value.length - 1]!];
  if (unit === undefined) return null;
  let n = 0;
  for (let i = 0; i < value.length - 1; i++) {
    const c = value.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return null;
    n = n * 10 + c;
  }
  if (n === 0) return 0;
  return Math.min(Math.max(Math.ceil(n * unit), 1), MAX_TIMEOUT_MS);
}

/** `grpc-message` as gRPC percent-encodes it: bytes outside printable ASCII and `%` itself. */
export function encodeGrpcMessage(message: string): string {
  let plain = true;
  for (let i = 0; i < message.length; i++) {
    const c = message.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return message;
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out +=
      byte < 0x20 || byte > 0x7e || byte === 0x25
        ? `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
        : String.fromCharCode(byte);
  }
  return out;
}

const kAnswered = Symbol('gatehouse.grpc.answered');
type AnsweredResponse = ServerResponse & { [kAnswered]?: number };

/**
 * Marks `res` as a gateway answer of HTTP `status` given in gRPC form (`sendGrpcAnswer`, and
 * proxy/grpc-web.ts's gRPC-Web answers): counted and logged with `status` (countedStatus).
 */
export function markGrpcAnswer(res: ServerResponse, status: number): void {
  (res as AnsweredResponse)[kAnswered] = status;
}

/**
 * The status a request is counted and logged with: the response's HTTP status, except for a gRPC
 * or gRPC-Web request the gateway answered itself (`markGrpcAnswer`), whose wire status is 200 as gRPC
 * requires and whose counted status is the answer's HTTP status (401, 429, 502…), as Kong logs
 * `kong.response.exit`'s status on a gRPC request. Metrics, logs, analytics and traces read this.
 */
export function countedStatus(request: { readonly grpc: boolean; readonly res: ServerResponse }): number {
  const res = request.res;
  // Only a 200 can be a gRPC-Web answer (its requests are not `grpc`): other statuses stop here.
  if (!request.grpc && res.statusCode !== 200) return res.statusCode;
  return (res as AnsweredResponse)[kAnswered] ?? res.statusCode;
}

/** Headers of an answer that may not be sent as gRPC metadata (HTTP-framing ones). */
const NOT_METADATA = new Set(['content-type', 'content-length', 'connection', 'transfer-encoding']);

/**
 * Answers a gRPC request as the gateway: HTTP 200 and `content-type: application/grpc` with
 * `grpc-status` (from the HTTP `status` of the answer) and `grpc-message`. On HTTP/2 this is a
 * trailers-only response (one HEADERS frame that ends the stream); once the response head is out
 * (an upstream that failed mid-stream), the status goes in the trailers. `extra` adds headers (an
 * auth plugin's `WWW-Authenticate`, rate-limiting's `X-RateLimit-*`), except framing ones.
 */
export function sendGrpcAnswer(
  res: ServerResponse,
  status: number,
  message: string,
  extra: Readonly<Record<string, string | readonly string[]>> | null = null,
): void {
  const grpcStatus = String(grpcStatusOf(status));
  // Only gRPC answers carry it (a rare path: the shape of other responses is untouched).
  markGrpcAnswer(res, status);
  const grpcMessage = encodeGrpcMessage(message);
  const stream = (res as { stream?: ServerHttp2Stream }).stream;
  if (res.headersSent) {
    if (res.writableEnded) return;
    if (stream === undefined || stream.destroyed) {
      res.destroy();
      return;
    }
    (res as unknown as { addTrailers(h: OutgoingHttpHeaders): void }).addTrailers({
      'grpc-status': grpcStatus,
      'grpc-message': grpcMessage,
    });
    res.end();
    return;
  }
  const headers: OutgoingHttpHeaders = {};
  if (extra !== null)
    for (const [name, value] of Object.entries(extra)) {
      const lower = name.toLowerCase();
      if (!NOT_METADATA.has(lower)) headers[lower] = value as string | string[];
    }
  headers['content-type'] = 'application/grpc';
  headers['grpc-status'] = grpcStatus;
  headers['grpc-message'] = grpcMessage;
  res.statusCode = 200;
  if (stream !== undefined) {
    if (stream.destroyed || stream.closed) return;
    // Trailers-only: node's compatibility response would send the head and an empty end apart.
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value!);
    stream.respond({ ':status': 200, ...headers }, { endStream: true });
    return;
  }
  headers['content-length'] = '0';
  res.writeHead(200, headers);
  res.end();
}

/**
 * gRPC-Web at the proxy (grpc/doc/PROTOCOL-WEB.md): what makes a request a gRPC-Web one (a
 * `content-type` of `application/grpc-web…`, decided once per request), its trailer frame (flag
 * 0x80, the trailers as an HTTP/1 header block), and the gateway's own answers in gRPC-Web form:
 * HTTP 200 with `grpc-status` and `grpc-message` in the headers ("trailers-only"), no body; once
 * the response has started, a trailer frame ends the body instead. The grpc-status comes from the
 * error table's HTTP status through proxy/grpc.ts's map, so there is one table and one map.
 * The translation of calls is the `grpc-web` plugin's (plugins/grpc-web).
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { encodeGrpcMessage, grpcStatusOf, markGrpcAnswer } from './grpc.js';

/** Not gRPC-Web, binary (`application/grpc-web[+…]`) or text (`application/grpc-web-text[+…]`). */
export const GrpcWebKind = { NONE: 0, BINARY: 1, TEXT: 2 } as const;
export type GrpcWebKind = (typeof GrpcWebKind)[keyof typeof GrpcWebKind];

/** The content type of the gateway's own gRPC-Web answers, by kind. */
const ANSWER_TYPE = ['', 'application/grpc-web+proto', 'application/grpc-web-text+proto'] as const;

/** The gRPC-Web kind of a `content-type` value (any sub-type or parameter). */
export function grpcWebKindOfType(value: string | undefined | null): GrpcWebKind {
  if (value == null || value.length < 20) return GrpcWebKind.NONE;
  if (value.slice(0, 20).toLowerCase() !== 'application/grpc-web') return GrpcWebKind.NONE;
  const next = value.charCodeAt(20);
  if (Number.isNaN(next) || next === 0x2b /* + */ || next === 0x3b /* ; */ || next === 0x20)
    return GrpcWebKind.BINARY;
  if (next === 0x2d /* - */ && value.slice(21, 25).toLowerCase() === 'text') {
    const after = value.charCodeAt(25);
    if (Number.isNaN(after) || after === 0x2b || after === 0x3b || after === 0x20) return GrpcWebKind.TEXT;
  }
  return GrpcWebKind.NONE;
}

const kGrpcWeb = Symbol('gatehouse.grpc-web');
type MarkedRequest = IncomingMessage & { [kGrpcWeb]?: GrpcWebKind };

/** The request's gRPC-Web kind (decided once from its raw headers, then remembered). */
export function grpcWebKindOf(req: IncomingMessage | undefined): GrpcWebKind {
  if (req === undefined) return GrpcWebKind.NONE;
  const marked = req as MarkedRequest;
  const known = marked[kGrpcWeb];
  if (known !== undefined) return known;
  const raw = (req.rawHeaders as string[] | undefined) ?? [];
  let kind: GrpcWebKind = GrpcWebKind.NONE;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 12 && name.toLowerCase() === 'content-type') {
      kind = grpcWebKindOfType(raw[i + 1]);
      break;
    }
  }
  marked[kGrpcWeb] = kind;
  return kind;
}

/** Flag of a gRPC-Web frame that carries trailers (the MSB of the first byte). */
export const TRAILER_FLAG = 0x80;

/**
 * The trailer frame for `trailers` (a flat [name, value, …] array): names lower-cased, each
 * field as `name:value\r\n`. In text mode the frame is base64 (padded: a chunk of its own).
 */
export function trailerFrame(trailers: readonly string[], text: boolean): Buffer {
  let block = '';
  for (let i = 0; i < trailers.length; i += 2)
    block += `${String(trailers[i]).toLowerCase()}:${String(trailers[i + 1])}\r\n`;
  const payload = Buffer.from(block, 'latin1');
  const frame = Buffer.allocUnsafe(5 + payload.length);
  frame[0] = TRAILER_FLAG;
  frame.writeUInt32BE(payload.length, 1);
  payload.copy(frame, 5);
  return text ? Buffer.from(frame.toString('base64'), 'latin1') : frame;
}

/** Headers of an answer that are not sent with a gRPC-Web answer (they describe a body). */
const BODY_HEADERS = new Set(['content-type', 'content-length', 'connection', 'transfer-encoding']);

/**
 * Answers a gRPC-Web request as the gateway: HTTP 200, the gRPC-Web content type of the request's
 * kind, `grpc-status` (from the HTTP `status`) and `grpc-message` in the headers and no body.
 * When the response head is already out (an upstream that failed mid-stream), a trailer frame
 * with the status ends the body. `extra` adds headers (CORS, `WWW-Authenticate`…), except those
 * that describe a body.
 */
export function sendGrpcWebAnswer(
  res: ServerResponse,
  kind: GrpcWebKind,
  status: number,
  message: string,
  extra: Readonly<Record<string, string | readonly string[]>> | null = null,
): void {
  const grpcStatus = String(grpcStatusOf(status));
  const grpcMessage = encodeGrpcMessage(message);
  // Counted and logged with the answer's HTTP status, as gRPC answers are.
  markGrpcAnswer(res, status);
  if (res.headersSent) {
    if (res.writableEnded || res.destroyed) return;
    res.end(
      trailerFrame(['grpc-status', grpcStatus, 'grpc-message', grpcMessage], kind === GrpcWebKind.TEXT),
    );
    return;
  }
  if (res.destroyed) return;
  const headers: OutgoingHttpHeaders = {};
  if (extra !== null)
    for (const [name, value] of Object.entries(extra)) {
      const lower = name.toLowerCase();
      if (!BODY_HEADERS.has(lower)) headers[lower] = value as string | string[];
    }
  headers['content-type'] = ANSWER_TYPE[kind === GrpcWebKind.TEXT ? 2 : 1];
  headers['grpc-status'] = grpcStatus;
  headers['grpc-message'] = grpcMessage;
  headers['content-length'] = '0';
  res.writeHead(200, headers);
  res.end();
}

/** A flat [name, value, …] header array as a record (repeated names as arrays). */
export function headerRecord(flat: readonly string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!.toLowerCase();
    const value = flat[i + 1]!;
    const prev = out[name];
    out[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}

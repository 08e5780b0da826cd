/**
 * Kong's `request_buffering` (a route field, default true; nginx's `proxy_request_buffering`):
 * the client's request body is read whole before the request goes upstream, so the upstream gets
 * a `Content-Length` body at once and never holds a connection open for a slow or stalled client.
 * A route with `request_buffering: false` streams the body upstream as it arrives (chunked
 * uploads that should flow, long-running uploads).
 *
 * Why it matters (chaos F21): 500 slow-body clients (slowhttptest -B) each opened an upstream
 * connection and a request the upstream had to hold until the DP cut the client at its body
 * timeout, and cutting them all closed 500 upstream connections in a burst: the normal traffic's
 * p99 jumped by tens of milliseconds. Buffered, a slow body costs only its client connection,
 * cut by the same body timeout (client-connections.ts) with a 408, and the upstream sees nothing.
 *
 * Where we differ from Kong on purpose: nginx keeps `client_body_buffer_size` (8 KiB) in memory
 * and spills the rest of a body to a temporary file, however large. A data plane keeps no
 * request bodies on disk: it holds at most `REQUEST_BUFFER_BYTES` of a body in memory, and a body
 * larger than that goes upstream as what was read followed by the rest as it arrives (streamed),
 * so memory stays bounded per request. docs/data-plane.md, "Request buffering".
 *
 * Not buffered: gRPC requests (streaming RPCs: a client stream would never end), WebSocket
 * upgrades (no body), and a body a plugin already read or replaced (a Buffer already).
 */
import { Readable } from 'node:stream';
import { withContentLength } from './headers.js';
import { readBody } from './read-body.js';
import type { ProxyRequest } from './request.js';

/** The most of a body held in memory before the request goes upstream (then streamed). */
export const REQUEST_BUFFER_BYTES = 1024 * 1024;

/** Whether `request`'s body is read whole before it goes upstream (its route asks, and it can be). */
export function buffersBody(request: ProxyRequest): boolean {
  const body = request.body;
  return (
    body !== null &&
    !Buffer.isBuffer(body) &&
    request.entry !== null &&
    request.entry.requestBuffering &&
    !request.grpc &&
    !request.upgrade
  );
}

/**
 * Reads `request.body` (a stream) whole, then calls `done`: `request.body` is then the body as
 * one Buffer, with `Content-Length` in the upstream headers; or, past `limit` bytes, a stream of
 * what was read followed by the rest of the client's body. `fail` gets the stream's error (the
 * client went away, a body cap crossed) or a close before the end.
 */
export function bufferBody(
  request: ProxyRequest,
  done: () => void,
  fail: (err: Error) => void,
  limit = REQUEST_BUFFER_BYTES,
): void {
  const source = request.body as Readable;
  readBody(source, limit, {
    whole(body) {
      finishWith(request, body);
      done();
    },
    // Too large to hold: what was read, then the rest as it comes.
    over(read) {
      request.body = Readable.from(prefixed(read, source), { objectMode: false });
      done();
    },
    failed: fail,
  });
}

function finishWith(request: ProxyRequest, body: Buffer): void {
  request.body = body;
  request.headers = withContentLength(request.headers, body, true);
}

async function* prefixed(chunks: readonly Buffer[], rest: Readable): AsyncGenerator<Buffer> {
  yield* chunks;
  for await (const chunk of rest) yield chunk as Buffer;
}

/**
 * h2c with prior knowledge beside HTTP/1.1 on one plain port: the first bytes of each new
 * connection decide. A connection that opens with the HTTP/2 client preface
 * (`PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`) becomes an HTTP/2 session; any other goes to the HTTP/1.1
 * server as it always did. Once per connection: the first chunk read is looked at (its first byte
 * settles it for every HTTP/1.1 method but `PRI`), put back with `unshift` (no copy) and the socket
 * handed over; nothing stays on the request path. Only a first chunk that is a strict beginning of
 * the preface makes it wait for more bytes, for at most the header timeout; a connection that sends
 * nothing, or stops inside the preface, is then answered as HTTP/1.1 answers a slow request head
 * (408, closed).
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { H2_PREFACE } from './http2-edge.js';
import { ProxyErrorCode, rawErrorResponse } from './errors.js';

/** node's HTTP/1.1 connection setup (see proxy-server.ts `reparse`). */
const http1Connection = (
  http as unknown as { _connectionListener: (this: http.Server, socket: Socket) => void }
)._connectionListener;

export const enum Preface {
  /** The bytes are the HTTP/2 preface (or start with it). */
  H2 = 1,
  /** They are not: HTTP/1.x (or garbage, for the HTTP/1.1 parser to refuse). */
  H1 = 2,
  /** A strict beginning of the preface: more bytes decide. */
  More = 3,
}

/** What `bytes` (the first bytes of a connection) say. */
export function prefaceOf(bytes: Uint8Array): Preface {
  const n = Math.min(bytes.length, H2_PREFACE.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== H2_PREFACE[i]) return Preface.H1;
  return bytes.length >= H2_PREFACE.length ? Preface.H2 : Preface.More;
}

export interface SniffOptions {
  /** An HTTP/2 connection (its first bytes put back on it). */
  h2(socket: Socket): void;
  /** Nothing decided within this many ms … */
  timeoutMs: number;
  /** … then this (the HTTP/1.1 answer to a slow request head). */
  onTimeout(socket: Socket): void;
}

/**
 * Replaces `server`'s own connection listener (node's HTTP/1.1 setup, first in line) with the
 * sniff; the HTTP/1.1 setup then runs on the connections that are not HTTP/2. Other 'connection'
 * listeners (per-IP cap, counts, the proxy's connection hooks) run for every connection as before.
 */
export function sniffPreface(server: http.Server, options: SniffOptions): { closeUndecided(): void } {
  const undecided = new Set<Socket>();
  server.removeListener('connection', http1Connection);
  server.prependListener('connection', (socket: Socket) => sniff(server, socket, options, undecided));
  return {
    /** Closes the connections that have not sent their first bytes yet (at shutdown, as node closes idle ones). */
    closeUndecided(): void {
      for (const socket of undecided) socket.destroy();
      undecided.clear();
    },
  };
}

function sniff(server: http.Server, socket: Socket, options: SniffOptions, undecided: Set<Socket>): void {
  let seen: Buffer | null = null;
  undecided.add(socket);
  const onError = (): void => {
    done();
    socket.destroy();
  };
  const done = (): void => {
    undecided.delete(socket);
    clearTimeout(timer);
    socket.removeListener('data', onData);
    socket.removeListener('error', onError);
    socket.removeListener('end', onEnd);
  };
  // The client stopped sending before anything was decided: as HTTP/1.1 answers a request head
  // cut short (400), or closes a connection that sent nothing.
  const onEnd = (): void => {
    done();
    if (seen === null) socket.end();
    else socket.end(rawErrorResponse(ProxyErrorCode.BAD_REQUEST));
  };
  const timer = setTimeout(() => {
    done();
    if (socket.destroyed) return;
    socket.pause();
    options.onTimeout(socket);
  }, options.timeoutMs);
  timer.unref();
  const onData = (chunk: Buffer): void => {
    const bytes: Buffer = seen === null ? chunk : Buffer.concat([seen, chunk]);
    const verdict = prefaceOf(bytes);
    if (verdict === Preface.More) {
      seen = bytes;
      return;
    }
    done();
    socket.pause();
    socket.unshift(bytes);
    if (verdict === Preface.H2) {
      options.h2(socket);
      return;
    }
    http1Connection.call(server, socket);
    socket.resume();
  };
  socket.on('error', onError);
  socket.on('end', onEnd);
  socket.on('data', onData);
}

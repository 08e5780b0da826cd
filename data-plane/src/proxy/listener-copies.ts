/**
 * Copies of a worker's listening socket, so a busy worker accepts more than one connection per
 * turn of its event loop (chaos F24).
 *
 * libuv (1.45+, node 20) accepts **one** connection each time a listening socket is reported
 * readable, then relies on the next poll (libuv PR #3696, "don't accept() connections in a
 * loop"). A worker saturated with requests runs turns of 100–300 ms (every ready socket's request
 * is handled in the turn that reads it), so it accepted 4–25 connections a second while 1,000–3,000
 * waited in the kernel's accept queue (`ss -ltn`, Recv-Q) until the clients timed out: requests
 * on connections the worker has not accepted are invisible to it, and no load-shedding signal
 * can answer them (measured: docs/chaos.md, F24). Round-robin scheduling does no better: the
 * primary hands over one connection and waits for the worker's acknowledgement before the next.
 *
 * Each copy is another file descriptor of the same listening socket (the kernel's one accept
 * queue), with its own libuv watcher: each poll accepts one connection per descriptor. The worker
 * sends its listening handle to the primary, which sends it straight back (every descriptor
 * passed over the IPC channel arrives as a new one) and closes its own; the worker listens on the
 * copy with the listener's backlog and hands every connection to the HTTP server
 * (`server.emit('connection')`, node's documented way in), so timeouts, the per-IP cap and
 * shedding apply as to any other. Only where the worker holds the listening socket itself
 * (node:cluster's `SCHED_NONE`, a one-worker pool: workers/worker-pool.ts); with round-robin the
 * worker's handle is not a socket and nothing is copied. Cost: a new connection wakes every
 * descriptor, one accepts it and the others get EAGAIN (about a microsecond each); nothing per
 * request.
 */
import type { Server } from 'node:http';
import net from 'node:net';

/** Descriptors of the listening socket a worker accepts on (the listener and its copies). */
export const ACCEPTS_PER_TURN = 32;

/** The worker's message to the primary, and the primary's answer, each with the handle. */
export const LISTENER_COPY = 'listener-copy';
export interface ListenerCopyMessage {
  t: typeof LISTENER_COPY;
}

/** What the IPC channel needs: node's `process` in a worker, a stand-in in tests. */
export interface CopyChannel {
  send(message: ListenerCopyMessage, handle: unknown): void;
  on(event: 'message', listener: (message: unknown, handle?: unknown) => void): void;
  off(event: 'message', listener: (message: unknown, handle?: unknown) => void): void;
}

/** Whether `m` is a listener copy message. */
export function isListenerCopy(m: unknown): m is ListenerCopyMessage {
  return typeof m === 'object' && m !== null && (m as { t?: unknown }).t === LISTENER_COPY;
}

/** The listening socket of `server` when it is one (libuv TCP), not cluster's round-robin stand-in. */
function listeningSocket(server: net.Server): object | null {
  const handle = (server as unknown as { _handle?: { constructor?: { name?: string } } | null })._handle;
  return handle?.constructor?.name === 'TCP' ? handle : null;
}

/**
 * Asks for `count` copies of `server`'s listening socket over `channel` and accepts on each as it
 * comes. Returns what closes them (with the server: a copy left open keeps the port listening),
 * or null when the server does not hold its listening socket.
 */
export function copyListener(
  server: Server,
  channel: CopyChannel,
  backlog: number,
  count = ACCEPTS_PER_TURN - 1,
): (() => Promise<void>) | null {
  const own = listeningSocket(server);
  if (own === null || count <= 0) return null;
  const copies: net.Server[] = [];
  let closed = false;
  const forward = (socket: net.Socket): void => {
    server.emit('connection', socket);
  };
  const onMessage = (m: unknown, handle?: unknown): void => {
    if (!isListenerCopy(m) || handle === undefined || handle === null) return;
    const h = handle as { close(): void };
    if (closed || copies.length >= count) {
      h.close();
      return;
    }
    // The options node:http gives its own listener's connections.
    const copy = new net.Server({ allowHalfOpen: true, noDelay: true, pauseOnConnect: false });
    copy.on('connection', forward);
    copy.on('error', () => copy.close());
    copy.listen(handle as never, backlog);
    copies.push(copy);
  };
  channel.on('message', onMessage);
  for (let i = 0; i < count; i++) channel.send({ t: LISTENER_COPY }, own);
  // Resolves once every copy is closed and the connections it accepted are gone (as
  // `server.close` does for its own).
  return () => {
    closed = true;
    channel.off('message', onMessage);
    const all = copies.splice(0).map((c) => new Promise<void>((resolve) => c.close(() => resolve())));
    return Promise.all(all).then(() => undefined);
  };
}

/** The primary's side: sends a worker's listening handle straight back, then closes its own. */
export function returnListenerCopy(
  worker: { send(m: ListenerCopyMessage, handle: never, cb: () => void): unknown },
  handle: unknown,
): void {
  worker.send({ t: LISTENER_COPY }, handle as never, () => (handle as { close(): void }).close());
}

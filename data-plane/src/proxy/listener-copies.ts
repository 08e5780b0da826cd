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
 * descriptor, one accepts it and the others get EAGAIN (~5 µs each, measured), so the copies are
 * open only while the worker is saturated (ListenerCopies); nothing is paid per request.
 */
import net from 'node:net';

/** Descriptors of the listening socket a worker accepts on (the listener and its copies). */
export const ACCEPTS_PER_TURN = 128;

/** The worker's message to the primary, and the primary's answer, each with the handle. */
export const LISTENER_COPY = 'listener-copy';
export interface ListenerCopyMessage {
  t: typeof LISTENER_COPY;
  /** Which of the worker's listeners the handle is (`http`, `https`): the answer says it back. */
  listener: string;
}

/** What the IPC channel needs: node's `process` in a worker, a stand-in in tests. */
export interface CopyChannel {
  send(message: ListenerCopyMessage, handle: unknown): void;
  on(event: 'message', listener: (message: unknown, handle?: unknown) => void): void;
  off(event: 'message', listener: (message: unknown, handle?: unknown) => void): void;
}

/** Whether `m` is a listener copy message. */
export function isListenerCopy(m: unknown): m is ListenerCopyMessage {
  return (
    typeof m === 'object' &&
    m !== null &&
    (m as { t?: unknown }).t === LISTENER_COPY &&
    typeof (m as { listener?: unknown }).listener === 'string'
  );
}

/** The listening socket of `server` when it is one (libuv TCP), not cluster's round-robin stand-in. */
function listeningSocket(server: net.Server): object | null {
  const handle = (server as unknown as { _handle?: { constructor?: { name?: string } } | null })._handle;
  return handle?.constructor?.name === 'TCP' ? handle : null;
}

/** How long copies stay open after the worker was last saturated (then they are closed). */
export const COPIES_HOLD_MS = 5_000;

/**
 * How long after listening the first copies are asked for: fetching 127 takes the worker 27–39 ms
 * of CPU over 35–65 ms (measured, an echo process as the primary), work a start-up should not
 * compete with (chaos F6: the first 200 after a restart). A saturation before then asks at once.
 */
export const FETCH_DELAY_MS = 1_000;

/** ListenerCopies' settings (defaults for a data plane worker). */
export interface CopyOptions {
  /** The listener's name in the messages (`http`, `https`): default `http`. */
  readonly listener?: string;
  /** Copies wanted: default ACCEPTS_PER_TURN − 1. */
  readonly count?: number;
  /** How long copies stay open after the last saturation: default COPIES_HOLD_MS. */
  readonly holdMs?: number;
  /** How long after listening the first copies are asked for: default FETCH_DELAY_MS. */
  readonly fetchDelayMs?: number;
}

/**
 * The copies of one server's listening socket, accepting while the worker is saturated: each
 * descriptor in the poll costs every new connection an EAGAIN accept (measured,
 * test/bench/listener-copies.ts: 31 copies +100–150 µs of CPU per connection, 127 copies
 * +530–660 µs, over 190–320 µs without), so a worker at ease accepts on its listener alone. The
 * copies are fetched while the worker is at ease (a second after listen, and again after they were used),
 * because node sends one handle per acknowledgement of the receiver: asked for once saturated,
 * 127 copies took a turn of 100+ ms each and F24 lost its first second. They wait as bare
 * descriptors, outside the poll; `need()` (the load-shedding guard's saturation,
 * proxy/overload.ts) puts them all in it; `COPIES_HOLD_MS` after the last `need()` they are
 * closed (their connections live on) and fresh ones fetched.
 */
export class ListenerCopies {
  private readonly own: object | null;
  /** Copies accepting now. */
  private readonly copies: net.Server[] = [];
  /** Copies received and not accepting (bare handles, outside the poll). */
  private readonly spare: { close(): void }[] = [];
  /** Copies asked for and not arrived yet. */
  private asked = 0;
  /** Puts the copies away `holdMs` after the last `need()`; null: not saturated. */
  private hold: NodeJS.Timeout | null = null;
  /** The first fetch, `fetchDelayMs` after listening; null once done. */
  private firstFetch: NodeJS.Timeout | null = null;
  private closed = false;

  /** The message asking for a copy (and naming the copies that answer it). */
  private readonly ask: ListenerCopyMessage;

  /** Copies wanted (ACCEPTS_PER_TURN − 1). */
  private readonly count: number;
  /** How long the copies stay open after the last `need()`. */
  private readonly holdMs: number;

  constructor(
    private readonly server: net.Server,
    private readonly channel: CopyChannel,
    private readonly backlog: number,
    options: CopyOptions = {},
  ) {
    const listener = options.listener ?? 'http';
    const fetchDelayMs = options.fetchDelayMs ?? FETCH_DELAY_MS;
    this.count = options.count ?? ACCEPTS_PER_TURN - 1;
    this.holdMs = options.holdMs ?? COPIES_HOLD_MS;
    this.ask = { t: LISTENER_COPY, listener };
    this.own = listeningSocket(server);
    if (!this.enabled) return;
    channel.on('message', this.onMessage);
    if (fetchDelayMs <= 0) this.fetch();
    else {
      this.firstFetch = setTimeout(this.fetch, fetchDelayMs);
      this.firstFetch.unref();
    }
  }

  /** Whether the server holds its listening socket (a `SCHED_NONE` cluster worker), so copies can be had. */
  get enabled(): boolean {
    return this.own !== null && this.count > 0;
  }

  /** Copies accepting now. */
  get active(): number {
    return this.copies.length;
  }

  /** Copies at hand, accepting or not. */
  get held(): number {
    return this.copies.length + this.spare.length;
  }

  /** The worker is saturated: every copy at hand accepts (for `holdMs` more). */
  need(): void {
    if (!this.enabled || this.closed) return;
    if (this.hold === null) {
      this.hold = setTimeout(this.release, this.holdMs);
      this.hold.unref();
    } else this.hold.refresh();
    // Saturated before the first fetch: ask now (each copy accepts as it arrives).
    if (this.firstFetch !== null) this.fetch();
    while (this.spare.length > 0) this.accept(this.spare.pop()!);
  }

  /** Asks the primary for the copies missing. */
  private readonly fetch = (): void => {
    if (this.firstFetch !== null) clearTimeout(this.firstFetch);
    this.firstFetch = null;
    for (; this.held + this.asked < this.count; this.asked++) this.channel.send(this.ask, this.own);
  };

  private accept(handle: unknown): void {
    // The options node:http gives its own listener's connections.
    const copy = new net.Server({ allowHalfOpen: true, noDelay: true, pauseOnConnect: false });
    copy.on('connection', this.forward);
    copy.on('error', () => copy.close());
    copy.listen(handle as never, this.backlog);
    this.copies.push(copy);
  }

  private readonly forward = (socket: net.Socket): void => {
    this.server.emit('connection', socket);
  };

  private readonly onMessage = (m: unknown, handle?: unknown): void => {
    if (!isListenerCopy(m) || m.listener !== this.ask.listener || handle === undefined || handle === null)
      return;
    if (this.asked > 0) this.asked--;
    const h = handle as { close(): void };
    if (this.closed || this.held >= this.count) h.close();
    else if (this.hold !== null) this.accept(h);
    else this.spare.push(h);
  };

  /** Closes the copies that accepted (their connections live on) and fetches fresh ones. */
  private readonly release = (): void => {
    this.hold = null;
    for (const c of this.copies.splice(0)) c.close();
    if (!this.closed) this.fetch();
  };

  /**
   * Closes the copies for good (with the server: a copy left open keeps the port listening);
   * resolves once they are closed and the connections they accepted are gone, as `server.close`
   * does for its own.
   */
  close(): Promise<void> {
    this.closed = true;
    if (this.firstFetch !== null) clearTimeout(this.firstFetch);
    this.firstFetch = null;
    if (this.hold !== null) clearTimeout(this.hold);
    this.hold = null;
    this.channel.off('message', this.onMessage);
    for (const h of this.spare.splice(0)) h.close();
    const all = this.copies.splice(0).map((c) => new Promise<void>((resolve) => c.close(() => resolve())));
    return Promise.all(all).then(() => undefined);
  }
}

/** A function told of one listener's copy messages. */
type CopyListener = (message: unknown, handle?: unknown) => void;

/**
 * One subscription to the IPC channel for the copies of every listener of a worker: each answer
 * goes to the ListenerCopies of the listener it names, and a copy nobody asked for (its listener
 * closed meanwhile) is closed at once rather than left open as a stray descriptor of the port.
 */
export class CopyChannelDemux {
  private readonly byListener = new Map<string, Set<CopyListener>>();

  constructor(private readonly channel: CopyChannel) {}

  /** The channel as one listener's ListenerCopies sees it (only its own answers arrive). */
  forListener(listener: string): CopyChannel {
    return {
      send: (message, handle) => this.channel.send(message, handle),
      on: (_event, fn) => this.add(listener, fn),
      off: (_event, fn) => this.remove(listener, fn),
    };
  }

  private add(listener: string, fn: CopyListener): void {
    if (this.byListener.size === 0) this.channel.on('message', this.onMessage);
    let set = this.byListener.get(listener);
    if (set === undefined) this.byListener.set(listener, (set = new Set()));
    set.add(fn);
  }

  private remove(listener: string, fn: CopyListener): void {
    const set = this.byListener.get(listener);
    if (set === undefined || !set.delete(fn)) return;
    if (set.size === 0) this.byListener.delete(listener);
    if (this.byListener.size === 0) this.channel.off('message', this.onMessage);
  }

  private readonly onMessage = (m: unknown, handle?: unknown): void => {
    if (!isListenerCopy(m)) return;
    const set = this.byListener.get(m.listener);
    if (set === undefined) {
      (handle as { close?: () => void } | null | undefined)?.close?.();
      return;
    }
    for (const fn of set) fn(m, handle);
  };
}

/** The primary's side: sends a worker's listening handle straight back, then closes its own. */
export function returnListenerCopy(
  worker: { send(m: ListenerCopyMessage, handle: never, cb: () => void): unknown },
  m: ListenerCopyMessage,
  handle: unknown,
): void {
  worker.send({ t: LISTENER_COPY, listener: m.listener }, handle as never, () =>
    (handle as { close(): void }).close(),
  );
}

/**
 * The chaos suite's open-loop load generator. Requests are scheduled by their intended send time
 * (request i at i/rate seconds after the start), whatever happened to the ones before, and each
 * latency is measured from that intended time, not from when the request could actually be sent:
 * a stall shows as the latency it caused every request scheduled during it (no coordinated
 * omission, Gil Tene's "How NOT to measure latency"). Latencies are kept per request, so any
 * window of the run (a baseline, a fault) is summarised afterwards into an HDR histogram
 * (hdr-histogram-js).
 *
 * The client is lean on purpose: its own cost and jitter are part of every latency it reports,
 * and the rows' bounds are a few milliseconds (docs/chaos.md, "The instrument"). Keep-alive TCP
 * sockets (`connections` at most, one request in flight on each; beyond that requests wait in a
 * FIFO queue, and the wait counts), the request's bytes built once, responses framed by
 * `ResponseParser` (http1.ts: status, Content-Length, chunked, Connection; bodies skipped, never
 * kept). No promise, closure or buffer per request. The scheduler wakes `spinMs` early and waits
 * out the rest on the clock, so a request leaves on time rather than when the timer fires (libuv
 * timers have a 1 ms grain); how late the scheduler issued each request is kept (`sendLateMs`).
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';
import { FramingError, ResponseParser, type ResponseEnd } from './http1.js';

export interface OpenLoopOptions {
  /** `http://host:port`. */
  readonly origin: string;
  readonly path: string;
  /** Requests per second. */
  readonly rate: number;
  readonly durationMs: number;
  /** Most sockets (default 64). */
  readonly connections?: number;
  /** A request not answered this long after it was sent fails, and its socket is closed (default 5000 ms). */
  readonly timeoutMs?: number;
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * How long before a request is due the scheduler wakes and then waits on the clock (default
   * 1 ms: libuv's timer grain), at most a quarter of the interval between requests, so the wait
   * takes at most a quarter of a core. 0 sends when the timer fires.
   */
  readonly spinMs?: number;
}

/** What one run recorded: per request, its intended send time, latency and outcome. */
export interface LoadRecord {
  /** performance.now() of the intended time of request 0. */
  readonly startedAt: number;
  readonly intervalMs: number;
  /** Latency of request i in ms, from its intended send time to its response's end; NaN: failed. */
  readonly latencyMs: Float64Array;
  /** HTTP status of request i; 0: no response (the error is counted in `errors`). */
  readonly status: Uint16Array;
  /** Error codes of requests that got no response, counted. */
  readonly errors: ReadonlyMap<string, number>;
  /**
   * How late the generator issued request i after its intended time, in ms: its scheduler's own
   * lateness (a timer or thread that woke late). A wait for a free socket, when every one is busy
   * with a slow answer, is not in it: that is the server's, and it is in `latencyMs`.
   */
  readonly sendLateMs: Float64Array;
}

export interface WindowSummary {
  readonly requests: number;
  /** Requests without a 2xx/3xx/4xx response: 5xx or no response at all. */
  readonly failed: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** One keep-alive socket with at most one request in flight. */
interface Conn {
  readonly socket: net.Socket;
  readonly parser: ResponseParser;
  /** Index of the request in flight, -1: none. */
  current: number;
  sentAt: number;
  /** Closed or closing: never reused. */
  dead: boolean;
}

/** Runs the load; resolves once every request is answered or failed. */
export function openLoop(opts: OpenLoopOptions): Promise<LoadRecord> {
  const total = Math.floor((opts.durationMs / 1000) * opts.rate);
  const intervalMs = 1000 / opts.rate;
  const latencyMs = new Float64Array(total).fill(NaN);
  const sendLateMs = new Float64Array(total).fill(NaN);
  const status = new Uint16Array(total);
  const errors = new Map<string, number>();
  const timeoutMs = opts.timeoutMs ?? 5000;
  const maxConns = opts.connections ?? 64;
  const spinMs = Math.min(opts.spinMs ?? 1, intervalMs / 4);
  const url = new URL(opts.origin);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || 80);
  let head = `GET ${opts.path} HTTP/1.1\r\nHost: ${url.host}\r\n`;
  for (const [name, value] of Object.entries(opts.headers ?? {})) head += `${name}: ${value}\r\n`;
  const requestBytes = Buffer.from(`${head}\r\n`, 'latin1');

  const conns = new Set<Conn>();
  /** Sockets free for a request, the most recently used last (taken first: few sockets stay hot). */
  const idle: Conn[] = [];
  /** Requests due while every socket was busy, in order. */
  const queue = new Int32Array(total);
  let queueHead = 0;
  let queueTail = 0;
  let next = 0;
  let settled = 0;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => (finish = resolve));

  const settle = (): void => {
    if (++settled === total) finish();
  };
  const fail = (code: string): void => {
    errors.set(code, (errors.get(code) ?? 0) + 1);
    settle();
  };

  const send = (c: Conn, i: number): void => {
    c.current = i;
    c.sentAt = performance.now();
    c.socket.write(requestBytes);
  };

  /** A socket is free: the oldest queued request takes it, else it waits in `idle`. */
  const release = (c: Conn): void => {
    if (queueHead < queueTail) send(c, queue[queueHead++]!);
    else idle.push(c);
  };

  const drop = (c: Conn): void => {
    if (c.dead) return;
    c.dead = true;
    conns.delete(c);
    const k = idle.indexOf(c);
    if (k >= 0) idle.splice(k, 1);
    c.socket.destroy();
    // Queued requests need a socket in its place.
    if (queueHead < queueTail) open(queue[queueHead++]!);
  };

  const complete = (c: Conn, r: ResponseEnd): void => {
    const i = c.current;
    c.current = -1;
    latencyMs[i] = performance.now() - (startedAt + i * intervalMs);
    status[i] = r.status;
    settle();
    if (r.keepAlive) {
      c.parser.reset();
      release(c);
    } else drop(c);
  };

  const failCurrent = (c: Conn, code: string): void => {
    const i = c.current;
    c.current = -1;
    if (i >= 0) fail(code);
  };

  const open = (first: number): void => {
    const socket = net.connect({ host, port, noDelay: true });
    const c: Conn = { socket, parser: new ResponseParser(), current: -1, sentAt: 0, dead: false };
    conns.add(c);
    socket.on('data', (chunk: Buffer) => {
      if (c.current < 0) return drop(c); // bytes nobody asked for
      let r: ResponseEnd | null;
      try {
        r = c.parser.feed(chunk);
      } catch (err) {
        failCurrent(c, err instanceof FramingError ? err.code : 'GH_CHAOS_BAD_RESPONSE');
        return drop(c);
      }
      if (r !== null) complete(c, r);
    });
    socket.on('end', () => {
      const r = c.current >= 0 ? c.parser.end() : null;
      if (r !== null) complete(c, r);
      else failCurrent(c, 'SOCKET_CLOSED');
      drop(c);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      failCurrent(c, err.code ?? err.name);
      drop(c);
    });
    socket.on('close', () => {
      failCurrent(c, 'SOCKET_CLOSED');
      drop(c);
    });
    send(c, first);
  };

  const dispatch = (i: number, now: number): void => {
    sendLateMs[i] = now - (startedAt + i * intervalMs);
    const c = idle.pop();
    if (c !== undefined) send(c, i);
    else if (conns.size < maxConns) open(i);
    else queue[queueTail++] = i;
  };

  // Requests unanswered `timeoutMs` after they were sent fail; their sockets are closed.
  const watchdog = setInterval(
    () => {
      const now = performance.now();
      for (const c of conns)
        if (c.current >= 0 && now - c.sentAt > timeoutMs) {
          failCurrent(c, 'TIMEOUT');
          drop(c);
        }
    },
    Math.min(100, timeoutMs / 4),
  );

  const tick = (): void => {
    let now = performance.now();
    if (spinMs > 0 && next < total) {
      // Woken up to spinMs early: wait out the rest on the clock.
      const due = startedAt + next * intervalMs;
      if (due - now <= spinMs) while (now < due) now = performance.now();
    }
    while (next < total && startedAt + next * intervalMs <= now) dispatch(next++, now);
    if (next < total)
      setTimeout(tick, Math.max(0, startedAt + next * intervalMs - spinMs - performance.now()));
  };

  const startedAt = performance.now();
  if (total === 0) finish();
  else tick();
  return done.then(() => {
    clearInterval(watchdog);
    for (const c of [...conns]) drop(c);
    return { startedAt, intervalMs, latencyMs, status, errors, sendLateMs };
  });
}

/** Whether request i of `r` failed (no response, or a 5xx). */
export function failed(r: LoadRecord, i: number): boolean {
  const s = r.status[i]!;
  return s === 0 || s >= 500;
}

/**
 * The requests intended between `fromMs` and `toMs` after the start (performance.now() based
 * times are turned into offsets by the caller: `at - r.startedAt`).
 */
export function summarize(r: LoadRecord, fromMs = 0, toMs = Infinity): WindowSummary {
  const h = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 600_000_000,
    numberOfSignificantValueDigits: 3,
  });
  const first = Math.max(0, Math.ceil(fromMs / r.intervalMs));
  const last = Math.min(r.latencyMs.length, Math.ceil(toMs / r.intervalMs));
  let requests = 0;
  let bad = 0;
  for (let i = first; i < last; i++) {
    requests++;
    if (failed(r, i)) bad++;
    const l = r.latencyMs[i]!;
    if (!Number.isNaN(l)) h.recordValue(Math.max(1, Math.round(l * 1000)));
  }
  const us = (v: number) => v / 1000;
  const summary = {
    requests,
    failed: bad,
    p50Ms: h.totalCount === 0 ? NaN : us(h.getValueAtPercentile(50)),
    p99Ms: h.totalCount === 0 ? NaN : us(h.getValueAtPercentile(99)),
    maxMs: h.totalCount === 0 ? NaN : us(h.maxValue),
  };
  h.destroy();
  return summary;
}

/**
 * How late the requests intended between `fromMs` and `toMs` were issued (`sendLateMs`):
 * the generator's own share of their latency, p50 and p99 in ms.
 */
export function sendLateness(r: LoadRecord, fromMs = 0, toMs = Infinity): { p50Ms: number; p99Ms: number } {
  const first = Math.max(0, Math.ceil(fromMs / r.intervalMs));
  const last = Math.min(r.sendLateMs.length, Math.ceil(toMs / r.intervalMs));
  const v = Array.from(r.sendLateMs.subarray(first, last)).filter((x) => !Number.isNaN(x));
  v.sort((a, b) => a - b);
  const at = (q: number): number =>
    v.length === 0 ? NaN : v[Math.min(v.length - 1, Math.floor(q * v.length))]!;
  return { p50Ms: at(0.5), p99Ms: at(0.99) };
}

/** Offset (ms after the load's start) of a performance.now() time. */
export const offsetOf = (r: LoadRecord, at: number): number => at - r.startedAt;

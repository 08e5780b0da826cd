/**
 * The access log: one JSON line per request (a RequestObserver). The line is built by hand
 * (access-log-line.ts: no object, no serializer) and handed to an asynchronous buffered writer
 * (pino.destination, i.e. SonicBoom, `sync: false`): lines gather in memory and go out in one
 * `write(2)` per ~4 KiB on libuv's thread pool, and at least once a second, so the event loop
 * never waits on the disk or a pipe. A writer that cannot keep up holds at most 16 MiB, then drops
 * lines and counts them (`logCounters('access-log')`, in the node's /metrics). Off (`--access-log
 * off`): no observer exists, so a request pays nothing for it.
 *
 * `sample` keeps that fraction of requests; `redact` writes the named fields as "[REDACTED]".
 * Every worker appends to the same file (O_APPEND); each write holds whole lines.
 */
import { pino } from 'pino';
import type { ProxyRequest } from '../proxy/request.js';
import { AccessLogFormat, redactProblem } from './access-log-line.js';
import { logCounters, type LogCounters } from './log-queue.js';
import type { RequestObserver } from './request-observer.js';

export { ACCESS_LOG_FIELDS, redactProblem } from './access-log-line.js';

/** What `--access-log*` configure (null settings = off). */
export interface AccessLogSettings {
  /** A file path, or 'stdout'. */
  destination: string;
  /** Fraction of requests logged, 0..1. */
  sample: number;
  /** Fields of the line (`client_ip`, `latencies.proxy`, …) written as "[REDACTED]". */
  redact: string[];
}

/** Bytes gathered before a write (and at most a second's wait), and the most ever held. */
export const ACCESS_LOG_WRITE_BYTES = 4096;
export const ACCESS_LOG_FLUSH_MS = 1000;
export const ACCESS_LOG_MAX_BYTES = 16 * 1024 * 1024;

/** The access log's counters (sent = handed to the writer and not dropped). */
export const accessLogCounters: LogCounters = logCounters('access-log');

export class AccessLog implements RequestObserver {
  private readonly format: AccessLogFormat;
  private lastMs = -1;
  private lastTime = '';

  constructor(
    private readonly write: (line: string) => void,
    private readonly sample: number,
    redact: readonly string[] = [],
    private readonly random: () => number = Math.random,
    private readonly clock: () => number = Date.now,
  ) {
    const problem = redactProblem(redact);
    if (problem !== null) throw new TypeError(`access log: ${problem}`);
    this.format = new AccessLogFormat(redact);
  }

  /** The ISO time of now (made once per millisecond). */
  private time(): string {
    const ms = this.clock();
    if (ms !== this.lastMs) {
      this.lastMs = ms;
      this.lastTime = new Date(ms).toISOString();
    }
    return this.lastTime;
  }

  requestEnded(request: ProxyRequest): void {
    if (this.sample < 1 && !(this.random() < this.sample)) return;
    this.write(this.format.line(request, this.time()));
  }
}

const countLines = (data: string): number => {
  let n = 0;
  for (let i = data.indexOf('\n'); i >= 0; i = data.indexOf('\n', i + 1)) n++;
  return n;
};

/**
 * The access log of this process for `settings`: the observer, and `close` (flushes and ends the
 * writer; stdout is flushed, not closed). Throws when a redact path is invalid.
 */
export function openAccessLog(
  settings: AccessLogSettings,
  random?: () => number,
): { observer: AccessLog; close(): Promise<void> } {
  const problem = redactProblem(settings.redact);
  if (problem !== null) throw new TypeError(`access log: ${problem}`);
  const stdout = settings.destination === 'stdout';
  // pino.destination also flushes what is buffered when the process exits.
  const out = pino.destination({
    dest: stdout ? 1 : settings.destination,
    sync: false,
    append: true,
    mkdir: !stdout,
    minLength: ACCESS_LOG_WRITE_BYTES,
    maxLength: ACCESS_LOG_MAX_BYTES,
    periodicFlush: ACCESS_LOG_FLUSH_MS,
  } as Parameters<typeof pino.destination>[0]);
  const counters = accessLogCounters;
  out.on('drop', (data: string) => {
    const n = countLines(data);
    counters.dropped += n;
    counters.sent -= n;
  });
  out.on('error', () => undefined);
  let closed = false;
  const write = (line: string): void => {
    counters.sent++;
    out.write(line);
  };
  return {
    observer: new AccessLog(write, settings.sample, settings.redact, random),
    close: () =>
      new Promise<void>((resolve) => {
        if (closed) return resolve();
        closed = true;
        out.once('close', () => resolve());
        out.once('error', () => resolve());
        out.end();
      }),
  };
}

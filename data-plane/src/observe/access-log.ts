/**
 * The access log: one JSON line per request (a RequestObserver). The line is built by hand, as
 * bytes (access-log-line.ts, json-line.ts: no object, no serializer, no string) and copied into an
 * asynchronous buffered writer (line-writer.ts): lines gather in memory and go out in one write per
 * 64 KiB on libuv's thread
 * pool, and at least once a second, so the event loop never waits on the disk or a pipe. A writer
 * that cannot keep up holds at most 16 MiB, then drops lines; lines are counted
 * (`logCounters('access-log')`: sent, dropped), in the node's /metrics. Off (`--access-log off`):
 * no observer exists, so a request pays nothing for it.
 *
 * `sample` keeps that fraction of requests; `fields` chooses the fields written (default all);
 * `redact` writes the named fields as "[REDACTED]".
 * Every worker appends to the same file (O_APPEND); each write holds whole lines.
 */
import type { Logger } from '@gatehouse/shared';
import type { ProxyRequest } from '../proxy/request.js';
import { ACCESS_LOG_FIELDS, AccessLogFormat, fieldsProblem, redactProblem } from './access-log-line.js';
import { JsonLine } from './json-line.js';
import { LineWriter, type LineSink } from './line-writer.js';
import { logCounters, type LogCounters } from './log-queue.js';
import type { RequestObserver } from './request-observer.js';

export { ACCESS_LOG_FIELDS, fieldsProblem, redactProblem } from './access-log-line.js';

/** What `--access-log*` configure (null settings = off). */
export interface AccessLogSettings {
  /** A file path, or 'stdout'. */
  destination: string;
  /** Fraction of requests logged, 0..1. */
  sample: number;
  /** Fields of the line (`client_ip`, `latencies.proxy`, …) written as "[REDACTED]". */
  redact: string[];
  /** The fields written (`--access-log-fields`); absent: every field (ACCESS_LOG_FIELDS). */
  fields?: string[];
}

/** Why `settings` can't be used (a redact path or a field naming nothing), or null. */
export function accessLogProblem(settings: Pick<AccessLogSettings, 'redact' | 'fields'>): string | null {
  return (
    redactProblem(settings.redact) ?? (settings.fields === undefined ? null : fieldsProblem(settings.fields))
  );
}

/** The access log's counters (sent = handed to the writer and not dropped). */
export const accessLogCounters: LogCounters = logCounters('access-log');

/** Now, in epoch milliseconds (performance.now() is several times cheaper than Date.now() here). */
const epochMs = (): number => Math.floor(performance.timeOrigin + performance.now());

/** '000' … '999'. */
const MILLIS: readonly string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

export class AccessLog implements RequestObserver {
  private readonly format: AccessLogFormat;
  /** The line being written (one buffer, reused). */
  private readonly out = new JsonLine();
  private lastMs = NaN;
  private lastTime = '';
  private lastSecond = NaN;
  /** `YYYY-MM-DDTHH:MM:SS.` of lastSecond. */
  private secondPrefix = '';

  constructor(
    private readonly sink: LineSink,
    private readonly sample: number,
    redact: readonly string[] = [],
    private readonly random: () => number = Math.random,
    private readonly clock: () => number = epochMs,
    fields: readonly string[] = ACCESS_LOG_FIELDS,
  ) {
    const problem = redactProblem(redact) ?? fieldsProblem(fields);
    if (problem !== null) throw new TypeError(`access log: ${problem}`);
    this.format = new AccessLogFormat(redact, fields);
  }

  /** The ISO time of now (a Date formatted once per second, the milliseconds from a table). */
  private time(): string {
    const ms = this.clock();
    if (ms !== this.lastMs) {
      this.lastMs = ms;
      const second = Math.floor(ms / 1000);
      if (second !== this.lastSecond) {
        const iso = new Date(ms).toISOString();
        // Years 0000–9999 only have the plain shape; others (±YYYYYY) are used as they are.
        if (iso.length !== 24) {
          this.lastSecond = NaN;
          return (this.lastTime = iso);
        }
        this.lastSecond = second;
        this.secondPrefix = iso.slice(0, 20);
      }
      this.lastTime = this.secondPrefix + MILLIS[ms - second * 1000]! + 'Z';
    }
    return this.lastTime;
  }

  requestEnded(request: ProxyRequest): void {
    if (this.sample < 1 && !(this.random() < this.sample)) return;
    const out = this.out;
    this.format.write(out, request, this.time());
    this.sink.writeBytes(out.buf, out.length);
  }
}

/**
 * The access log of this process for `settings`: the observer, and `close` (writes what waits and
 * closes the file; stdout stays open). Throws when a redact path is invalid.
 */
export function openAccessLog(
  settings: AccessLogSettings,
  options: { random?: () => number; logger?: Logger } = {},
): { observer: AccessLog; close(): Promise<void> } {
  const problem = accessLogProblem(settings);
  if (problem !== null) throw new TypeError(`access log: ${problem}`);
  const writer = new LineWriter({
    destination: settings.destination,
    counters: accessLogCounters,
    onError: (err) =>
      options.logger?.error({ err, destination: settings.destination }, 'access log write failed'),
  });
  return {
    observer: new AccessLog(
      writer,
      settings.sample,
      settings.redact,
      options.random,
      undefined,
      settings.fields,
    ),
    close: () => writer.close(),
  };
}

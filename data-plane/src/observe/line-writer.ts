/**
 * An asynchronous, buffered writer of whole lines to a file (appended, O_APPEND) or to stdout:
 * `write` only appends the line to an in-memory batch; a batch goes out in one `fs.write` on
 * libuv's thread pool once it holds `chunkBytes`, or `flushMs` after its first line, one write in
 * flight at a time, so the event loop never waits on the disk or a pipe. At most `maxBytes` wait;
 * past that, lines are dropped. Every line is counted: `sent` once written, `dropped` when refused
 * for room or lost to a write error. What waits is written synchronously when the process exits.
 *
 * Several processes (a DP's workers) may share one destination. A file is opened O_APPEND, so each
 * write lands whole. A pipe or socket (stdout under a supervisor, `| tee`) keeps a write whole only
 * up to PIPE_BUF (4096 bytes on Linux): there a batch is cut at line ends into writes of at most
 * that size, so lines from different workers never interleave (a single line longer than
 * PIPE_BUF still goes in one write, and may).
 *
 * Measured against SonicBoom (pino.destination, async) on 420-byte lines: SonicBoom spent 4–6 µs
 * of CPU per line (its buffer bookkeeping grows with the batch), this writer ~1 µs (mostly the
 * write system call), see docs/observability.md.
 */
import fs from 'node:fs';
import { dirname } from 'node:path';
import type { LogCounters } from './log-queue.js';

export interface LineWriterOptions {
  /** A file path (its folder is created; appended to), or 'stdout'. */
  readonly destination: string;
  /** Where lines are counted. */
  readonly counters: LogCounters;
  /** Write once this many bytes (UTF-16 units, near enough) wait. Default 16 KiB. */
  readonly chunkBytes?: number;
  /** Write at most this long after a batch's first line. Default 1000 ms. */
  readonly flushMs?: number;
  /** Most bytes waiting; lines beyond are dropped. Default 16 MiB. */
  readonly maxBytes?: number;
  /** Told once about the first write error (later ones are only counted). */
  readonly onError?: (err: Error) => void;
}

const STDOUT = 1;
const RETRY_MS = 10;
/** The largest write a pipe keeps whole (Linux PIPE_BUF). */
export const PIPE_BUF = 4096;

/** Whether `fd` is a pipe, a socket or a terminal: writes over PIPE_BUF may interleave there. */
function interleaves(fd: number): boolean {
  try {
    // `bigint`: a plain fstatSync leaves its result in the process-wide stat buffer that
    // fs.realpathSync reads, and after a FIFO or socket there (stdout on a pipe) realpathSync stops
    // following symlinks (nodejs/node#51142): the next `import 'pino'` then loaded pino from
    // data-plane/node_modules/pino unresolved, where pnpm's layout has none of its dependencies
    // (`Cannot find module 'pino-std-serializers'`: file-log with `--access-log stdout`).
    const st = fs.fstatSync(fd, { bigint: true });
    return st.isFIFO() || st.isSocket() || st.isCharacterDevice();
  } catch {
    return false;
  }
}

export class LineWriter {
  private readonly counters: LogCounters;
  private chunkBytes: number;
  /** Most bytes in one write (PIPE_BUF on a pipe); Infinity on a file. */
  private writeLimit = Infinity;
  private readonly flushMs: number;
  private readonly maxBytes: number;
  private fd = -1;
  private parts: string[] = [];
  private length = 0;
  private inFlight = false;
  private timer: NodeJS.Timeout | null = null;
  private closing: Promise<void> | null = null;
  private errorTold = false;
  /** The file could not be opened: every line is dropped (and counted). */
  private broken = false;
  private readonly onExit = (): void => this.flushSync();
  private readonly opened: Promise<void>;

  constructor(private readonly options: LineWriterOptions) {
    this.counters = options.counters;
    this.chunkBytes = options.chunkBytes ?? 16 * 1024;
    this.flushMs = options.flushMs ?? 1000;
    this.maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
    if (options.destination === 'stdout') {
      this.fd = STDOUT;
      this.limitWrites(interleaves(STDOUT));
      this.opened = Promise.resolve();
    } else {
      const path = options.destination;
      this.opened = fs.promises
        .mkdir(dirname(path), { recursive: true })
        .then(
          () =>
            new Promise<number>((resolve, reject) =>
              fs.open(path, 'a', (err, fd) => (err ? reject(err) : resolve(fd))),
            ),
        )
        .then((fd) => {
          this.fd = fd;
          this.limitWrites(interleaves(fd));
          this.flushSoon();
        })
        .catch((err: Error) => this.fail(err, this.parts.length, true));
    }
    process.on('exit', this.onExit);
  }

  /** On a destination where big writes interleave: batches of at most PIPE_BUF bytes. */
  private limitWrites(on: boolean): void {
    if (!on) return;
    this.writeLimit = PIPE_BUF;
    this.chunkBytes = Math.min(this.chunkBytes, PIPE_BUF);
  }

  /** Lines waiting (not counting a write in flight). */
  get waiting(): number {
    return this.parts.length;
  }

  /** Queues one line (it must end with a newline). Never blocks, never throws. */
  write(line: string): void {
    if (this.broken || this.closing !== null || this.length + line.length > this.maxBytes) {
      this.counters.dropped++;
      return;
    }
    this.parts.push(line);
    this.length += line.length;
    if (this.length >= this.chunkBytes) this.flush();
    else if (this.timer === null) {
      this.timer = setTimeout(() => this.flush(), this.flushMs);
      this.timer.unref();
    }
  }

  private flushSoon(): void {
    if (this.parts.length > 0) this.flush();
  }

  private flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.inFlight || this.fd < 0 || this.parts.length === 0) return;
    const buf = this.writeLimit === Infinity ? this.takeAll() : this.takeWhole();
    this.inFlight = true;
    this.send(buf, 0, this.taken);
  }

  /** A batch waiting to be tried again after EAGAIN (no write in flight meanwhile). */
  private blocked: { buf: Buffer; offset: number; lines: number } | null = null;

  /** Lines in the buffer the last take returned. */
  private taken = 0;

  private takeAll(): Buffer {
    const parts = this.parts;
    this.taken = parts.length;
    this.parts = [];
    this.length = 0;
    return Buffer.from(parts.length === 1 ? parts[0]! : parts.join(''));
  }

  /** The first lines that fit in one write of at most writeLimit bytes (at least one line). */
  private takeWhole(): Buffer {
    const parts = this.parts;
    let n = 1;
    let units = parts[0]!.length;
    while (n < parts.length && units + parts[n]!.length <= this.writeLimit) units += parts[n++]!.length;
    let buf = Buffer.from(n === 1 ? parts[0]! : parts.slice(0, n).join(''));
    // Characters outside ASCII take more bytes than units: give lines back until it fits.
    while (buf.length > this.writeLimit && n > 1) {
      n--;
      units -= parts[n]!.length;
      buf = Buffer.from(parts.slice(0, n).join(''));
    }
    this.parts = n === parts.length ? [] : parts.slice(n);
    this.length -= units;
    this.taken = n;
    return buf;
  }

  private send(buf: Buffer, offset: number, lines: number): void {
    fs.write(this.fd, buf, offset, buf.length - offset, null, (err, written) => {
      if (err) {
        if (err.code === 'EAGAIN') {
          // A full non-blocking pipe: try again soon. Between tries nothing is in flight, so an
          // exit meanwhile writes this batch synchronously (flushSync); while closing, the timer
          // keeps the process alive until the batch is out.
          this.blocked = { buf, offset, lines };
          const retry = setTimeout(() => {
            this.blocked = null;
            this.send(buf, offset, lines);
          }, RETRY_MS);
          if (this.closing === null) retry.unref();
          return;
        }
        this.fail(err, lines, false);
      } else if (offset + written < buf.length) {
        this.send(buf, offset + written, lines);
        return;
      } else this.counters.sent += lines;
      this.inFlight = false;
      if (this.length >= this.chunkBytes || (this.closing !== null && this.parts.length > 0)) this.flush();
      else if (this.parts.length > 0 && this.timer === null) {
        this.timer = setTimeout(() => this.flush(), this.flushMs);
        this.timer.unref();
      }
      if (this.closing !== null && this.parts.length === 0 && !this.inFlight) this.emitDrained();
    });
  }

  private fail(err: Error, lines: number, fatal: boolean): void {
    this.counters.dropped += lines;
    if (fatal) {
      this.broken = true;
      this.parts = [];
      this.length = 0;
    }
    if (!this.errorTold) {
      this.errorTold = true;
      this.options.onError?.(err);
    }
  }

  private drained: (() => void) | null = null;
  private emitDrained(): void {
    const d = this.drained;
    this.drained = null;
    d?.();
  }

  /** Writes what waits, synchronously (at exit). */
  private flushSync(): void {
    if (this.fd < 0) return;
    const blocked = this.blocked;
    this.blocked = null;
    if (blocked !== null && !this.writeWhole(blocked.buf, blocked.offset, blocked.lines)) return;
    while (this.parts.length > 0) {
      const buf = this.writeLimit === Infinity ? this.takeAll() : this.takeWhole();
      if (!this.writeWhole(buf, 0, this.taken)) return;
    }
  }

  /**
   * Writes `buf` from `offset` synchronously (at exit), waiting out a full non-blocking pipe for
   * at most a second; false (and everything still waiting counted dropped) when it cannot.
   */
  private writeWhole(buf: Buffer, offset: number, lines: number): boolean {
    const giveUp = Date.now() + 1000;
    try {
      for (let at = offset; at < buf.length;) {
        try {
          at += fs.writeSync(this.fd, buf, at);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || Date.now() > giveUp) throw err;
        }
      }
      this.counters.sent += lines;
      return true;
    } catch {
      this.counters.dropped += lines + this.parts.length;
      this.parts = [];
      this.length = 0;
      return false;
    }
  }

  /** Writes everything waiting, then closes the file (stdout stays open). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.opened;
      if (this.fd >= 0 && (this.inFlight || this.parts.length > 0)) {
        const drained = new Promise<void>((resolve) => (this.drained = resolve));
        this.flush();
        await drained;
      }
      process.off('exit', this.onExit);
      if (this.fd >= 0 && this.fd !== STDOUT) await new Promise<void>((r) => fs.close(this.fd, () => r()));
      this.fd = -1;
    })();
    return this.closing;
  }
}

/**
 * An asynchronous, buffered writer of whole lines to a file (appended, O_APPEND) or to stdout:
 * `writeBytes` only copies the line's bytes into the batch being filled (a buffer of `chunkBytes`);
 * a full batch, or one `flushMs` after its first line, goes out in one `fs.write` on libuv's thread
 * pool, one write in flight at a time, so the event loop never waits on the disk or a pipe. At most
 * `maxBytes` wait; past that, lines are dropped. Every line is counted: `sent` once written,
 * `dropped` when refused for room or lost to a write error. What waits is written synchronously
 * when the process exits.
 *
 * Several processes (a DP's workers) may share one destination. A file is opened O_APPEND, so each
 * write lands whole. A pipe or socket (stdout under a supervisor, `| tee`) keeps a write whole only
 * up to PIPE_BUF (4096 bytes on Linux): there batches hold at most that many bytes, cut at line
 * ends, so lines from different workers never interleave (a single line longer than PIPE_BUF still
 * goes in one write, and may).
 *
 * Measured against SonicBoom (pino.destination, async) on 420-byte lines: SonicBoom spent 4–6 µs
 * of CPU per line (its buffer bookkeeping grows with the batch); taking lines as bytes, this writer
 * spends a copy per line and a write system call per batch, see docs/observability.md.
 */
import fs from 'node:fs';
import { dirname } from 'node:path';
import type { LogCounters } from './log-queue.js';

export interface LineWriterOptions {
  /** A file path (its folder is created; appended to), or 'stdout'. */
  readonly destination: string;
  /** Where lines are counted. */
  readonly counters: LogCounters;
  /** Write once a batch holds this many bytes (a batch's size). Default 64 KiB. */
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

/** What takes a line as bytes (the access log writes into one). */
export interface LineSink {
  /** Takes `bytes[0, length)`, one whole line ending with a newline; copies them (the caller reuses `bytes`). */
  writeBytes(bytes: Uint8Array, length: number): void;
}

/** A sink that hands each line to `onLine` as text, decoded as UTF-8 (tests, an in-memory log). */
export function textLines(onLine: (line: string) => void): LineSink {
  return {
    writeBytes: (bytes, length) =>
      onLine(Buffer.from(bytes.buffer, bytes.byteOffset, length).toString('utf8')),
  };
}

/** A batch: lines' bytes up to `used`. */
interface Batch {
  buf: Buffer;
  used: number;
  lines: number;
}

export class LineWriter implements LineSink {
  private readonly counters: LogCounters;
  private chunkBytes: number;
  private readonly flushMs: number;
  private readonly maxBytes: number;
  private fd = -1;
  /** The batch being filled, or null. */
  private filling: Batch | null = null;
  /** Full batches waiting for their write, oldest first. */
  private full: Batch[] = [];
  /** Bytes waiting (filling and full; not counting a write in flight). */
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
    this.chunkBytes = options.chunkBytes ?? 64 * 1024;
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
          // Lines taken before the file opened were batched for a file; on a pipe they are
          // written as they are (rare: a FIFO named as the destination).
          this.limitWrites(interleaves(fd));
          this.flushSoon();
        })
        .catch((err: Error) => this.fail(err, this.waitingLines(), true));
    }
    process.on('exit', this.onExit);
  }

  /** On a destination where big writes interleave: batches of at most PIPE_BUF bytes. */
  private limitWrites(on: boolean): void {
    if (on) this.chunkBytes = Math.min(this.chunkBytes, PIPE_BUF);
  }

  /** Lines waiting (not counting a write in flight). */
  get waiting(): number {
    return this.waitingLines();
  }

  private waitingLines(): number {
    let n = this.filling === null ? 0 : this.filling.lines;
    for (const b of this.full) n += b.lines;
    return n;
  }

  /** Queues one line (it must end with a newline). Never blocks, never throws. */
  write(line: string): void {
    const bytes = Buffer.from(line);
    this.writeBytes(bytes, bytes.length);
  }

  /** Queues one line's bytes (`bytes[0, length)`, ending with a newline), copied. Never blocks, never throws. */
  writeBytes(bytes: Uint8Array, length: number): void {
    if (this.broken || this.closing !== null || this.length + length > this.maxBytes) {
      this.counters.dropped++;
      return;
    }
    let batch = this.filling;
    if (batch === null || batch.used + length > batch.buf.length) {
      if (batch !== null) this.full.push(batch);
      // A line longer than a batch gets a batch of its own.
      batch = this.filling = {
        buf: Buffer.allocUnsafe(Math.max(this.chunkBytes, length)),
        used: 0,
        lines: 0,
      };
    }
    const buf = batch.buf;
    let at = batch.used;
    if (length < 256) for (let i = 0; i < length; i++) buf[at++] = bytes[i]!;
    else {
      buf.set(bytes.subarray(0, length), at);
      at += length;
    }
    batch.used = at;
    batch.lines++;
    this.length += length;
    if (this.full.length > 0 || at >= this.chunkBytes) this.flush();
    else if (this.timer === null) {
      this.timer = setTimeout(() => this.flush(), this.flushMs);
      this.timer.unref();
    }
  }

  private flushSoon(): void {
    if (this.length > 0) this.flush();
  }

  /** The oldest batch waiting (the one filling when no full one waits), taken off the queue, or null. */
  private take(): Batch | null {
    const batch = this.full.shift() ?? this.filling;
    if (batch === null || batch.lines === 0) return null;
    if (batch === this.filling) this.filling = null;
    this.length -= batch.used;
    return batch;
  }

  private flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.inFlight || this.fd < 0) return;
    const batch = this.take();
    if (batch === null) return;
    this.inFlight = true;
    this.send(batch.buf, 0, batch.used, batch.lines);
  }

  /** A batch waiting to be tried again after EAGAIN (no write in flight meanwhile). */
  private blocked: { buf: Buffer; offset: number; end: number; lines: number } | null = null;

  private send(buf: Buffer, offset: number, end: number, lines: number): void {
    fs.write(this.fd, buf, offset, end - offset, null, (err, written) => {
      if (err) {
        if (err.code === 'EAGAIN') {
          // A full non-blocking pipe: try again soon. Between tries nothing is in flight, so an
          // exit meanwhile writes this batch synchronously (flushSync); while closing, the timer
          // keeps the process alive until the batch is out.
          this.blocked = { buf, offset, end, lines };
          const retry = setTimeout(() => {
            this.blocked = null;
            this.send(buf, offset, end, lines);
          }, RETRY_MS);
          if (this.closing === null) retry.unref();
          return;
        }
        this.fail(err, lines, false);
      } else if (offset + written < end) {
        this.send(buf, offset + written, end, lines);
        return;
      } else this.counters.sent += lines;
      this.inFlight = false;
      const more = this.length > 0;
      if (this.full.length > 0 || (this.closing !== null && more)) this.flush();
      else if (more && this.timer === null) {
        this.timer = setTimeout(() => this.flush(), this.flushMs);
        this.timer.unref();
      }
      if (this.closing !== null && this.length === 0 && !this.inFlight) this.emitDrained();
    });
  }

  private fail(err: Error, lines: number, fatal: boolean): void {
    this.counters.dropped += lines;
    if (fatal) {
      this.broken = true;
      this.filling = null;
      this.full = [];
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
    if (blocked !== null && !this.writeWhole(blocked.buf, blocked.offset, blocked.end, blocked.lines)) return;
    for (let batch = this.take(); batch !== null; batch = this.take())
      if (!this.writeWhole(batch.buf, 0, batch.used, batch.lines)) return;
  }

  /**
   * Writes `buf[offset, end)` synchronously (at exit), waiting out a full non-blocking pipe for
   * at most a second; false (and everything still waiting counted dropped) when it cannot.
   */
  private writeWhole(buf: Buffer, offset: number, end: number, lines: number): boolean {
    const giveUp = Date.now() + 1000;
    try {
      for (let at = offset; at < end;) {
        try {
          at += fs.writeSync(this.fd, buf, at, end - at);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || Date.now() > giveUp) throw err;
        }
      }
      this.counters.sent += lines;
      return true;
    } catch {
      this.counters.dropped += lines + this.waitingLines();
      this.filling = null;
      this.full = [];
      this.length = 0;
      return false;
    }
  }

  /** Writes everything waiting, then closes the file (stdout stays open). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.opened;
      if (this.fd >= 0 && (this.inFlight || this.length > 0)) {
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

/**
 * A streaming cap on a request body, put by the runtime between the client's request and the
 * upstream dispatch (`RequestView.limitBody`): bytes pass through as they arrive (nothing is
 * buffered beyond the stream's own high-water mark); the first chunk that takes the total over
 * `maxBytes` fails the stream with GH_ERR_PLUGIN_BODY_TOO_LARGE instead of being forwarded, which
 * aborts the upstream request (undici reports the body error to the dispatch handler) and lets the
 * runtime answer 413.
 */
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { PluginErrors } from '../errors.js';

export class BodyLimit extends Transform {
  private seen = 0;
  private pending: Readable | null = null;
  /** True once the body crossed the limit. */
  exceeded = false;

  constructor(private readonly maxBytes: number) {
    super();
  }

  /** Bytes forwarded so far. */
  get bytes(): number {
    return this.seen;
  }

  /**
   * Pipes `source` in on the first read only, so the client's body stays unread until the upstream
   * takes it (a balanced request may still be re-sent to another target before that).
   */
  pipeOnRead(source: Readable): void {
    this.pending = source;
  }

  override _read(size: number): void {
    const source = this.pending;
    if (source !== null) {
      this.pending = null;
      source.pipe(this);
    }
    super._read(size);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.maxBytes) {
      this.exceeded = true;
      callback(PluginErrors.bodyTooLarge(`request body larger than ${this.maxBytes} bytes`));
      return;
    }
    callback(null, chunk);
  }
}

/** `source` capped at `maxBytes` (read once the result is read); a source error is passed on. */
export function limitBody(source: Readable, maxBytes: number): BodyLimit {
  const limit = new BodyLimit(maxBytes);
  source.on('error', (err) => limit.destroy(err));
  // Once the cap is hit, stop reading the client: the runtime answers and closes the connection.
  limit.on('error', () => source.unpipe(limit));
  limit.pipeOnRead(source);
  return limit;
}

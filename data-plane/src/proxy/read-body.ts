/**
 * Reads a request body stream up to a size, for the two places that hold a body in memory: the
 * proxy's request buffering (proxy/request-buffering.ts: past the size, what was read goes
 * upstream followed by the rest) and a plugin's `request.body()` (plugins/runtime/context.ts: past
 * the size, a 413). Callbacks, not a promise: the buffering path allocates nothing more per request.
 */
import type { Readable } from 'node:stream';

/** What becomes of a body read by `readBody` (exactly one is called, once). */
export interface BodyReader {
  /** The whole body, at most `limit` bytes (one chunk as it came, else the chunks joined). */
  whole(body: Buffer): void;
  /**
   * The body passed `limit` bytes: `read` holds the chunks read so far (`size` bytes, the last one
   * crossing the limit); the stream is paused with nothing listening, the rest of it unread.
   */
  over(read: Buffer[], size: number): void;
  /** The stream failed (the client went away, a body cap crossed), or closed before its end. */
  failed(err: Error): void;
}

/** Reads `source` until its end or until more than `limit` bytes came, and tells `to` which. */
export function readBody(source: Readable, limit: number, to: BodyReader): void {
  if (source.readableEnded) {
    to.whole(Buffer.alloc(0));
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const cleanup = (): void => {
    source.off('data', onData);
    source.off('end', onEnd);
    source.off('error', onError);
    source.off('close', onClose);
  };
  const onData = (chunk: Buffer): void => {
    chunks.push(chunk);
    size += chunk.length;
    if (size <= limit) return;
    cleanup();
    source.pause();
    to.over(chunks, size);
  };
  const onEnd = (): void => {
    cleanup();
    to.whole(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
  };
  const onError = (err: Error): void => {
    cleanup();
    to.failed(err);
  };
  const onClose = (): void => {
    cleanup();
    to.failed(new Error('the client closed the connection before the end of the request body'));
  };
  source.on('data', onData);
  source.on('end', onEnd);
  source.on('error', onError);
  source.on('close', onClose);
}

/**
 * The load generator's response framing (load.ts): the least of HTTP/1.1 a client needs to know
 * where one response ends on a keep-alive socket, and whether the socket may carry the next. It
 * reads the status line, `Content-Length`, `Transfer-Encoding: chunked` and `Connection`, skips
 * bodies without keeping them, and skips 1xx interim responses. Nothing else of the head is
 * looked at, so a response costs one small string (its head) and no body buffers.
 *
 * Bodies: chunked (chunk sizes, extensions and trailers skipped), a Content-Length, none (1xx, 204,
 * 304, an answer to HEAD), or, with neither, until the server closes the connection (`end()`).
 */

/** One response, complete. */
export interface ResponseEnd {
  readonly status: number;
  /** The socket may carry the next request (HTTP/1.1 without `Connection: close`, or 1.0 with keep-alive). */
  readonly keepAlive: boolean;
}

/** A response that cannot be framed: the socket must be closed. */
export class FramingError extends Error {
  readonly code = 'GH_CHAOS_BAD_RESPONSE';
}

const enum State {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilClose,
  Done,
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
/** A head longer than this is not a response this generator expects. */
const MAX_HEAD = 64 * 1024;

export class ResponseParser {
  private state = State.Head;
  private head: Buffer | null = null;
  private remaining = 0;
  private status = 0;
  private keepAlive = true;
  private line = '';

  /** `noBody`: the request was HEAD (its answer has a head only). */
  constructor(private readonly noBody = false) {}

  /** Starts over for the next response on the same socket. */
  reset(): void {
    this.state = State.Head;
    this.head = null;
    this.line = '';
  }

  /**
   * Feeds bytes from the socket. Returns the response once its last byte has been read, else
   * null; bytes after a complete response are an error (one request in flight at a time).
   */
  feed(chunk: Buffer): ResponseEnd | null {
    let at = 0;
    while (at < chunk.length) {
      switch (this.state) {
        case State.Head: {
          const buf =
            this.head === null ? chunk.subarray(at) : Buffer.concat([this.head, chunk.subarray(at)]);
          // Search from where the last feed left off (less the three bytes a CRLFCRLF may straddle).
          const from = this.head === null ? 0 : Math.max(0, this.head.length - 3);
          const end = buf.indexOf(CRLFCRLF, from);
          if (end < 0) {
            if (buf.length > MAX_HEAD) throw new FramingError('response head too long');
            this.head = this.head === null ? Buffer.from(buf) : buf;
            return null;
          }
          const consumed = end + 4 - (this.head === null ? 0 : this.head.length);
          this.head = null;
          at += consumed;
          if (this.readHead(buf.toString('latin1', 0, end))) {
            if (at < chunk.length) throw new FramingError('bytes after the response');
            return this.done();
          }
          break;
        }
        case State.Length: {
          const n = Math.min(this.remaining, chunk.length - at);
          this.remaining -= n;
          at += n;
          if (this.remaining === 0) {
            if (at < chunk.length) throw new FramingError('bytes after the response');
            return this.done();
          }
          break;
        }
        case State.ChunkSize:
        case State.Trailers: {
          const nl = chunk.indexOf(10, at);
          const upto = nl < 0 ? chunk.length : nl + 1;
          this.line += chunk.toString('latin1', at, upto);
          at = upto;
          if (nl < 0) {
            if (this.line.length > 1024) throw new FramingError('chunk line too long');
            break;
          }
          const line = this.line.trimEnd();
          this.line = '';
          if (this.state === State.Trailers) {
            if (line === '') {
              if (at < chunk.length) throw new FramingError('bytes after the response');
              return this.done();
            }
            break;
          }
          const semi = line.indexOf(';');
          const size = Number.parseInt(semi < 0 ? line : line.slice(0, semi), 16);
          if (!Number.isFinite(size) || size < 0)
            throw new FramingError(`bad chunk size ${JSON.stringify(line)}`);
          if (size === 0) this.state = State.Trailers;
          else {
            this.remaining = size;
            this.state = State.ChunkData;
          }
          break;
        }
        case State.ChunkData: {
          const n = Math.min(this.remaining, chunk.length - at);
          this.remaining -= n;
          at += n;
          if (this.remaining === 0) {
            this.remaining = 2; // the CRLF after the data
            this.state = State.ChunkDataEnd;
          }
          break;
        }
        case State.ChunkDataEnd: {
          const n = Math.min(this.remaining, chunk.length - at);
          this.remaining -= n;
          at += n;
          if (this.remaining === 0) this.state = State.ChunkSize;
          break;
        }
        case State.UntilClose:
          return null;
        case State.Done:
          throw new FramingError('bytes after the response');
      }
    }
    return null;
  }

  /** The server closed the connection: the end of a body read until close, else null. */
  end(): ResponseEnd | null {
    if (this.state !== State.UntilClose) return null;
    this.keepAlive = false;
    return this.done();
  }

  private done(): ResponseEnd {
    this.state = State.Done;
    return { status: this.status, keepAlive: this.keepAlive };
  }

  /** Reads a response head and sets what follows it; true when it has no body. */
  private readHead(head: string): boolean {
    // "HTTP/1.1 200 OK"
    if (!head.startsWith('HTTP/1.')) throw new FramingError('not an HTTP/1 response');
    const status = Number(head.slice(9, 12));
    if (!Number.isInteger(status) || status < 100) throw new FramingError('bad status line');
    let keepAlive = head.charCodeAt(7) === 49; // HTTP/1.1: keep-alive unless told otherwise
    let length = -1;
    let chunked = false;
    let from = head.indexOf('\r\n');
    while (from >= 0) {
      const next = head.indexOf('\r\n', from + 2);
      const line = head.slice(from + 2, next < 0 ? head.length : next);
      from = next;
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      if (name === 'content-length') {
        length = Number(line.slice(colon + 1).trim());
        if (!Number.isSafeInteger(length) || length < 0) throw new FramingError('bad Content-Length');
      } else if (name === 'transfer-encoding') {
        chunked = /(^|,)\s*chunked\s*$/i.test(line.slice(colon + 1));
      } else if (name === 'connection') {
        const v = line.slice(colon + 1).toLowerCase();
        if (v.includes('close')) keepAlive = false;
        else if (v.includes('keep-alive')) keepAlive = true;
      }
    }
    if (status < 200) {
      // An interim response (100 Continue, 103 Early Hints): the real one follows.
      this.state = State.Head;
      return false;
    }
    this.status = status;
    this.keepAlive = keepAlive;
    if (this.noBody || status === 204 || status === 304) this.state = State.Done;
    else if (chunked) this.state = State.ChunkSize;
    else if (length === 0) this.state = State.Done;
    else if (length > 0) {
      this.remaining = length;
      this.state = State.Length;
    } else this.state = State.UntilClose;
    return this.state === State.Done;
  }
}

/**
 * The load generator's response framing: where a response ends on a keep-alive socket, whatever
 * way the bytes are split across reads, and whether the socket may carry the next request.
 */
import { describe, expect, it } from 'vitest';
import { FramingError, ResponseParser, type ResponseEnd } from './http1.js';

/** Feeds `bytes` in pieces of `size` bytes; the response once complete, and at which piece. */
function feedIn(p: ResponseParser, bytes: string, size: number): { end: ResponseEnd | null; atByte: number } {
  const buf = Buffer.from(bytes, 'latin1');
  for (let at = 0; at < buf.length; at += size) {
    const end = p.feed(buf.subarray(at, at + size));
    if (end !== null) return { end, atByte: Math.min(buf.length, at + size) };
  }
  return { end: null, atByte: buf.length };
}

const SPLITS = [1, 2, 3, 5, 7, 64, 4096];

describe('ResponseParser', () => {
  it.each(SPLITS)('ends a Content-Length response at its last byte (pieces of %i)', (size) => {
    const bytes = 'HTTP/1.1 200 OK\r\nContent-Length: 11\r\nX-A: b\r\n\r\nhello world';
    const { end, atByte } = feedIn(new ResponseParser(), bytes, size);
    expect(end).toEqual({ status: 200, keepAlive: true });
    expect(atByte).toBe(bytes.length);
  });

  it.each(SPLITS)('ends a chunked response after its last chunk and trailers (pieces of %i)', (size) => {
    const bytes =
      'HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n' +
      '5;ext=1\r\nhello\r\n' +
      '1A\r\n' +
      'abcdefghijklmnopqrstuvwxyz\r\n' +
      '0\r\nX-Trailer: t\r\n\r\n';
    const { end, atByte } = feedIn(new ResponseParser(), bytes, size);
    expect(end).toEqual({ status: 201, keepAlive: true });
    expect(atByte).toBe(bytes.length);
  });

  it('does not end a chunked response at a chunk that merely contains "0\\r\\n\\r\\n"', () => {
    const p = new ResponseParser();
    expect(
      p.feed(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7\r\n0\r\n\r\nab\r\n')),
    ).toBeNull();
    expect(p.feed(Buffer.from('0\r\n\r\n'))).toEqual({ status: 200, keepAlive: true });
  });

  it('reads keep-alive from the version and the Connection header', () => {
    const one = (head: string) =>
      new ResponseParser().feed(Buffer.from(`${head}\r\nContent-Length: 0\r\n\r\n`));
    expect(one('HTTP/1.1 200 OK')).toEqual({ status: 200, keepAlive: true });
    expect(one('HTTP/1.1 200 OK\r\nConnection: close')).toEqual({ status: 200, keepAlive: false });
    expect(one('HTTP/1.0 200 OK')).toEqual({ status: 200, keepAlive: false });
    expect(one('HTTP/1.0 200 OK\r\nConnection: Keep-Alive')).toEqual({ status: 200, keepAlive: true });
  });

  it('reads a body without length or chunking until the server closes', () => {
    const p = new ResponseParser();
    expect(p.feed(Buffer.from('HTTP/1.0 503 Service Unavailable\r\n\r\nsome'))).toBeNull();
    expect(p.feed(Buffer.from(' more'))).toBeNull();
    expect(p.end()).toEqual({ status: 503, keepAlive: false });
  });

  it('gives nothing at a close in the middle of a framed body', () => {
    const p = new ResponseParser();
    expect(p.feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'))).toBeNull();
    expect(p.end()).toBeNull();
  });

  it('skips a 100 Continue before the response', () => {
    const { end } = feedIn(
      new ResponseParser(),
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
      3,
    );
    expect(end).toEqual({ status: 200, keepAlive: true });
  });

  it('expects no body after 204, 304 or a HEAD request', () => {
    expect(new ResponseParser().feed(Buffer.from('HTTP/1.1 204 No Content\r\n\r\n'))).toEqual({
      status: 204,
      keepAlive: true,
    });
    expect(
      new ResponseParser().feed(Buffer.from('HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n')),
    ).toEqual({
      status: 304,
      keepAlive: true,
    });
    expect(
      new ResponseParser(true).feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n')),
    ).toEqual({
      status: 200,
      keepAlive: true,
    });
  });

  it('frames the next response on the same socket after reset()', () => {
    const p = new ResponseParser();
    expect(p.feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na'))).not.toBeNull();
    p.reset();
    expect(feedIn(p, 'HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 4).end).toEqual(
      {
        status: 404,
        keepAlive: true,
      },
    );
  });

  it('refuses bytes that are not a response, a bad length or chunk size, and bytes after the response', () => {
    expect(() => new ResponseParser().feed(Buffer.from('SSH-2.0-OpenSSH\r\n\r\n'))).toThrow(FramingError);
    expect(() =>
      new ResponseParser().feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n')),
    ).toThrow(FramingError);
    expect(() =>
      new ResponseParser().feed(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n')),
    ).toThrow(FramingError);
    expect(() =>
      new ResponseParser().feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1')),
    ).toThrow(FramingError);
  });
});

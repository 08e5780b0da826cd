/**
 * An HTTP/2 client for the tests (node:http2): connect (certificates not verified), one request
 * with its whole answer, close. Used by test/proxy/http2.test.ts and the e2e HTTP/2 tests.
 */
import http2 from 'node:http2';

export interface H2Reply {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: string;
}

/** One request on `session`. */
export function h2Request(
  session: http2.ClientHttp2Session,
  path: string,
  headers: http2.OutgoingHttpHeaders = {},
  body?: string,
): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path, ...headers }, { endStream: body === undefined });
    let status = 0;
    let h: http2.IncomingHttpHeaders = {};
    let data = '';
    stream.on('response', (head) => {
      h = head;
      status = Number(head[':status']);
    });
    stream.setEncoding('utf8');
    stream.on('data', (c: string) => (data += c));
    stream.on('end', () => resolve({ status, headers: h, body: data }));
    stream.on('error', reject);
    if (body !== undefined) stream.end(body);
  });
}

export function connectH2(
  url: string,
  options: http2.SecureClientSessionOptions = {},
): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const s = http2.connect(url, { rejectUnauthorized: false, ...options });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

export const closeSession = (s: http2.ClientHttp2Session): Promise<void> =>
  new Promise((resolve) => (s.closed ? resolve() : s.close(() => resolve())));

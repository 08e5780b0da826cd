import type { IncomingMessage } from 'node:http';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProxyErrorCode } from './errors.js';
import { DEFAULT_REQUEST_POLICY, isValidHost, readRequestHead, type RequestPolicy } from './request-head.js';

function req(
  url: string,
  rawHeaders: string[],
  { method = 'GET', version = '1.1' }: { method?: string; version?: string } = {},
): IncomingMessage {
  const [major, minor] = version.split('.').map(Number);
  return {
    url,
    method,
    rawHeaders,
    httpVersionMajor: major,
    httpVersionMinor: minor,
  } as unknown as IncomingMessage;
}

const read = (r: IncomingMessage, policy: RequestPolicy = DEFAULT_REQUEST_POLICY) =>
  readRequestHead(r, policy);

describe('request head checks', () => {
  it('refuses HTTP/0.9, TRACE, and Transfer-Encoding on HTTP/1.0', () => {
    expect(read(req('/', [], { version: '0.9' }))).toBe(ProxyErrorCode.BAD_VERSION);
    expect(read(req('/', ['Host', 'h'], { method: 'TRACE' }))).toBe(ProxyErrorCode.METHOD_NOT_ALLOWED);
    expect(read(req('/', ['transfer-encoding', 'chunked'], { version: '1.0' }))).toBe(
      ProxyErrorCode.BAD_FRAMING,
    );
    expect(read(req('/', ['Transfer-Encoding', 'chunked', 'Host', 'h']))).not.toBe(
      ProxyErrorCode.BAD_FRAMING,
    );
  });

  it('wants exactly one valid Host on HTTP/1.1', () => {
    expect(read(req('/', []))).toBe(ProxyErrorCode.BAD_HOST);
    expect(read(req('/', ['Host', 'a', 'host', 'a']))).toBe(ProxyErrorCode.BAD_HOST);
    for (const bad of [
      'a/b',
      'a b',
      'u@a',
      'u:p@a',
      'a\\b',
      'a?b',
      'a#b',
      '',
      'a:8x',
      'a:123456',
      '[zz]',
      ':80',
    ])
      expect(read(req('/', ['Host', bad])), bad).toBe(ProxyErrorCode.BAD_HOST);
    for (const good of [
      'a',
      'a.example:8000',
      '[::1]',
      '[::1]:80',
      '127.0.0.1:1',
      'xn--bcher-kva.example',
      'a:',
    ])
      expect(read(req('/', ['Host', good])), good).toMatchObject({ host: good });
    expect(read(req('/', [], { version: '1.0' }))).toMatchObject({ host: undefined });
  });

  it('takes the host of an absolute-form target, ignoring the Host header', () => {
    expect(read(req('http://abs.example:81/x?y', ['Host', 'other']))).toMatchObject({
      host: 'abs.example:81',
      url: '/x?y',
      path: '/x',
      rawQuery: 'y',
    });
    expect(read(req('https://u@abs.example/x', ['Host', 'h']))).toBe(ProxyErrorCode.BAD_HOST);
    expect(read(req('http:///x', ['Host', 'h']))).toBe(ProxyErrorCode.BAD_HOST);
    expect(read(req('gopher://abs.example/x', ['Host', 'h']))).toBe(ProxyErrorCode.BAD_REQUEST);
  });

  it('drops header names with underscores unless the policy keeps them', () => {
    const raw = ['Host', 'h', 'X_Consumer_ID', 'forged', 'X-Ok', '1'];
    expect(read(req('/', raw))).toMatchObject({ rawHeaders: ['Host', 'h', 'X-Ok', '1'] });
    expect(read(req('/', raw), { ...DEFAULT_REQUEST_POLICY, underscoresInHeaders: true })).toMatchObject({
      rawHeaders: raw,
    });
  });

  it('property: hostile heads never throw; an accepted one has an origin-form url, a valid host, no underscored names', () => {
    const token = fc.constantFrom(
      'Host',
      'host',
      'HOST',
      'Transfer-Encoding',
      'X_A',
      'x-b',
      'Proxy',
      'Forwarded',
    );
    const value = fc.string({ unit: 'binary', maxLength: 20 });
    const url = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.string({ maxLength: 30 }).map((s) => `/${s}`),
      fc.string({ maxLength: 30 }).map((s) => `http://${s}`),
    );
    fc.assert(
      fc.property(
        url,
        fc.array(fc.tuple(token, value), { maxLength: 6 }),
        fc.constantFrom('GET', 'TRACE', 'POST'),
        fc.constantFrom('0.9', '1.0', '1.1'),
        (u, headers, method, version) => {
          const out = read(req(u, headers.flat(), { method, version }));
          if (typeof out === 'string') {
            expect(Object.values(ProxyErrorCode)).toContain(out);
            return;
          }
          expect(out.url.startsWith('/')).toBe(true);
          expect(out.path.startsWith('/')).toBe(true);
          if (out.host !== undefined) expect(isValidHost(out.host)).toBe(true);
          expect(out.rawHeaders.some((h, i) => i % 2 === 0 && h.includes('_'))).toBe(false);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('HTTP/2 request heads (node compatibility request: pseudo-headers first)', () => {
  const h2 = (path: string, raw: string[], method = 'GET') =>
    req(path, [':method', method, ':path', path, ':scheme', 'https', ...raw], { method, version: '2.0' });

  it('takes the host from :authority and leads the headers with it, without pseudo-headers', () => {
    const head = read(h2('/a?b=1', [':authority', 'api.test:8443', 'accept', '*/*']));
    expect(head).toMatchObject({
      url: '/a?b=1',
      rawPath: '/a',
      rawQuery: 'b=1',
      path: '/a',
      host: 'api.test:8443',
      rawHeaders: ['host', 'api.test:8443', 'accept', '*/*'],
    });
  });

  it('takes a Host header when there is no :authority; refuses two different ones, or none', () => {
    expect(read(h2('/', ['host', 'h.test']))).toMatchObject({
      host: 'h.test',
      rawHeaders: ['host', 'h.test'],
    });
    expect(read(h2('/', [':authority', 'a.test', 'host', 'a.test']))).toMatchObject({
      rawHeaders: ['host', 'a.test'],
    });
    expect(read(h2('/', [':authority', 'a.test', 'host', 'b.test']))).toBe(ProxyErrorCode.BAD_HOST);
    expect(read(h2('/', ['host', 'a.test', 'host', 'b.test']))).toBe(ProxyErrorCode.BAD_HOST);
    expect(read(h2('/', []))).toBe(ProxyErrorCode.BAD_HOST);
    expect(read(h2('/', [':authority', 'a b']))).toBe(ProxyErrorCode.BAD_HOST);
  });

  it('joins split cookie fields into one, where the first one was', () => {
    const head = read(h2('/', [':authority', 'a', 'cookie', 'a=1', 'x-y', 'cookie', 'cookie', 'b=2']));
    expect(head).toMatchObject({ rawHeaders: ['host', 'a', 'cookie', 'a=1; b=2', 'x-y', 'cookie'] });
  });

  it('applies the request policy: TRACE, escaped slashes, underscored names, a non-origin target', () => {
    expect(read(h2('/', [':authority', 'a'], 'TRACE'))).toBe(ProxyErrorCode.METHOD_NOT_ALLOWED);
    expect(read(h2('/a/..%2Fb', [':authority', 'a']))).toBe(ProxyErrorCode.BAD_PATH);
    expect(read(h2('*', [':authority', 'a'], 'OPTIONS'))).toBe(ProxyErrorCode.BAD_REQUEST);
    expect(read(h2('/', [':authority', 'a', 'x_id', '1', 'x-id', '2']))).toMatchObject({
      rawHeaders: ['host', 'a', 'x-id', '2'],
    });
    expect(
      read(h2('/', [':authority', 'a', 'x_id', '1']), {
        ...DEFAULT_REQUEST_POLICY,
        underscoresInHeaders: true,
      }),
    ).toMatchObject({ rawHeaders: ['host', 'a', 'x_id', '1'] });
  });
});

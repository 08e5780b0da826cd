import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizePath } from '../router/normalize.js';
import { laxUpstreamResolve, TRAVERSAL_CORPUS } from './fixtures/path-corpus.js';
import { resolveRequestPath, type PathEscapedSlashesAction } from './path-policy.js';

const PROTECTIVE: PathEscapedSlashesAction[] = ['reject', 'unescape'];

/** The path part of a corpus target, as the proxy sees it (absolute form reduced, query cut). */
function rawPathOf(target: string): string {
  const abs = /^https?:\/\/[^/?#]*/i.exec(target);
  const url = abs === null ? target : target.slice(abs[0].length) || '/';
  return url.split('?')[0]!;
}

const PIECES = [
  '/',
  '//',
  '.',
  '..',
  '%2e',
  '%2E',
  '%2f',
  '%2F',
  '%5c',
  '%5C',
  '\\',
  '%25',
  '%00',
  '%',
  ';',
  '#',
  '2',
  'e',
  'f',
  '%32',
  '%65',
  '%66',
  '%41',
  '%c0',
  '%ae',
  '%af',
  '%e0',
  '%80',
  '%f0',
  'public',
  'admin',
  'x',
];
const hostilePath = fc
  .array(fc.constantFrom(...PIECES), { maxLength: 14 })
  .map((parts) => `/${parts.join('')}`);

describe('path policy (escaped slashes, traversal)', () => {
  it('refuses the issue paths by default; unescape routes them where they resolve', () => {
    for (const p of [
      '/public/..%2Fadmin/x',
      '/public%2f..%2fadmin/x',
      '/public/..%5cadmin/x',
      '/public/%252e%252e/admin/x',
      '/public\\..\\admin\\x',
    ])
      expect(resolveRequestPath(p, 'reject'), p).toBeNull();
    expect(resolveRequestPath('/public/..%2Fadmin/x', 'unescape')).toBe('/admin/x');
    expect(resolveRequestPath('/public%2f..%2fadmin/x', 'unescape')).toBe('/admin/x');
    expect(resolveRequestPath('/public/..%5cadmin/x', 'unescape')).toBe('/admin/x');
    expect(resolveRequestPath('/public\\..\\admin\\x', 'unescape')).toBe('/admin/x');
    expect(resolveRequestPath('/public/%252e%252e/admin/x', 'unescape')).toBeNull();
    // keep: what Gatehouse did before — escapes are data, the path goes out as it came.
    expect(resolveRequestPath('/public/..%2Fadmin/x', 'keep')).toBe('/public/..%2Fadmin/x');
  });

  it('removes (encoded) dot segments before routing in every mode', () => {
    for (const mode of ['reject', 'unescape', 'keep'] as const) {
      expect(resolveRequestPath('/public/%2e%2e/admin/x', mode)).toBe('/admin/x');
      expect(resolveRequestPath('/public/.%2E/admin/x', mode)).toBe('/admin/x');
      expect(resolveRequestPath('//admin//x', mode)).toBe('/admin/x');
    }
  });

  it('refuses NUL, bad escapes, double encoding, overlong UTF-8, dot segments with parameters, #', () => {
    for (const p of [
      '/a/%00',
      '/a/%zz',
      '/a/%2',
      '/a/%2541',
      '/a/%c0%af',
      '/a/%C1%9C',
      '/a/%e0%80%ae',
      '/a/%f0%80%80%af',
      '/a/..;/b',
      '/a/%2e%2e;x/b',
      '/a/.;/b',
      '/a#/../b',
      '/a/%%32%66',
      '/e%5C..;/x',
      '/;x/admin',
      '/x/..%3bx/admin',
      '/%3B/admin',
      '/a/;/b',
    ]) {
      expect(resolveRequestPath(p, 'reject'), p).toBeNull();
      expect(resolveRequestPath(p, 'unescape'), p).toBeNull();
    }
    // What stays allowed: a lone %25, valid multi-byte UTF-8, ';' parameters on a name.
    expect(resolveRequestPath('/a/100%25', 'reject')).toBe('/a/100%25');
    expect(resolveRequestPath('/caf%C3%A9/%E2%82%AC', 'reject')).toBe('/caf%C3%A9/%E2%82%AC');
    expect(resolveRequestPath('/a;v=1/b', 'reject')).toBe('/a;v=1/b');
  });

  it('no corpus path accepted by reject or unescape resolves outside the prefix it is routed by', () => {
    expect(TRAVERSAL_CORPUS.length).toBeGreaterThanOrEqual(50);
    for (const mode of PROTECTIVE) {
      for (const target of TRAVERSAL_CORPUS) {
        const path = resolveRequestPath(rawPathOf(target), mode);
        if (path === null) continue;
        if (path.startsWith('/public'))
          expect(laxUpstreamResolve(path), `${mode} ${target}`).toMatch(/^\/public/);
      }
    }
    // `keep` does not hold: that is why it is not the default.
    const escaped = TRAVERSAL_CORPUS.filter((t) => {
      const path = resolveRequestPath(rawPathOf(t), 'keep')!;
      return path.startsWith('/public') && laxUpstreamResolve(path).startsWith('/admin');
    });
    expect(escaped.length).toBeGreaterThan(0);
  });

  it('property: a forwarded path normalises to itself and a lax upstream resolves it under its prefix', () => {
    fc.assert(
      fc.property(hostilePath, fc.constantFrom(...PROTECTIVE), (raw, mode) => {
        const path = resolveRequestPath(raw, mode);
        if (path === null) return;
        expect(path.startsWith('/')).toBe(true);
        // The forwarded path is a fixed point: normalising or re-checking it changes nothing.
        expect(normalizePath(path)).toBe(path);
        expect(resolveRequestPath(path, mode)).toBe(path);
        // A route matched by a prefix of it (strip_path off) forwards a path a decoding upstream
        // resolves under that prefix.
        for (const prefix of ['/public', '/public/x', '/a']) {
          if (path.startsWith(prefix))
            expect(laxUpstreamResolve(path).startsWith(prefix.toLowerCase())).toBe(true);
        }
        // Whatever the route's prefix (cut at a segment boundary): decoding never leaves it.
        const segments = path.split('/');
        for (let k = 2; k <= segments.length; k++) {
          const prefix = laxUpstreamResolve(segments.slice(0, k).join('/'));
          expect(laxUpstreamResolve(path).startsWith(prefix), `${path} under ${prefix}`).toBe(true);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('property: never throws, and keep always gives a path', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (s) => {
        const raw = `/${s}`;
        for (const mode of ['reject', 'unescape'] as const) {
          const out = resolveRequestPath(raw, mode);
          if (out !== null) expect(normalizePath(out)).toBe(out);
        }
        expect(typeof resolveRequestPath(raw, 'keep')).toBe('string');
      }),
      { numRuns: 1000 },
    );
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pluginRequest, snapshotOf } from './test-support.js';

const EMPTY = snapshotOf({});

describe('PluginContext.setUpstreamPath', () => {
  it('replaces the upstream path and keeps the query string', () => {
    const ctx = pluginRequest(EMPTY, { path: '/a', query: 'x=1' });
    ctx.proxied.query = 'x=1';
    ctx.setUpstreamPath('/b/c');
    expect(ctx.proxied.upstreamPath).toBe('/b/c');
    expect(ctx.proxied.upstreamUri).toBe('/b/c?x=1');
    const bare = pluginRequest(EMPTY, { path: '/a' });
    bare.setUpstreamPath('/');
    expect(bare.proxied.upstreamUri).toBe('/');
  });

  it('takes an origin-form path or throws a TypeError, whatever the string', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 30 }),
          fc.string({ maxLength: 30 }).map((s) => `/${s}`),
          fc.constantFrom('/a?b', '/a#b', '/a b', '/a\r\nX: y', 'http://x/', '*', ''),
        ),
        (path) => {
          const ctx = pluginRequest(EMPTY, { path: '/p', query: 'q=1' });
          ctx.proxied.query = 'q=1';
          try {
            ctx.setUpstreamPath(path);
          } catch (e) {
            expect(e).toBeInstanceOf(TypeError);
            expect(ctx.proxied.upstreamUri).toBe('');
            return;
          }
          expect(path.startsWith('/')).toBe(true);
          // Visible ASCII only, and none of `"`, `#`, `?`.
          for (const ch of path) {
            const c = ch.codePointAt(0)!;
            expect(c > 0x20 && c < 0x7f && ch !== '"' && ch !== '#' && ch !== '?').toBe(true);
          }
          expect(ctx.proxied.upstreamUri).toBe(`${path}?q=1`);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('PluginContext.setUpstreamDestination', () => {
  it('refuses anything but a destination planned by InitContext.destination', () => {
    const ctx = pluginRequest(EMPTY);
    expect(() => ctx.setUpstreamDestination({ label: 'x', upstream: null, healthy: () => true })).toThrow(
      TypeError,
    );
  });
});

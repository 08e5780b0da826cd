import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { listPath, MAX_SIZE, offsetOf, PageCursor, tagFilter } from './paging';

describe('list paging and filters', () => {
  it('builds ?size=&offset=&tags= that read back exactly, whatever the offset and tags hold', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('/services', '/upstreams/u-1/targets', '/consumers?custom_id=x'),
        fc.integer({ min: -5, max: 5000 }),
        fc.option(fc.string(), { nil: undefined }),
        fc.option(fc.string(), { nil: undefined }),
        (collection, size, offset, tags) => {
          const built = listPath(collection, { size, offset, tags });
          const [path, query] = built.split('?', 2) as [string, string];
          expect(path).toBe(collection.split('?')[0]);
          const params = new URLSearchParams(query);
          expect(Number(params.get('size'))).toBe(Math.min(MAX_SIZE, Math.max(1, Math.trunc(size) || 1)));
          expect(params.get('offset')).toBe(offset ? offset : null);
          expect(params.get('tags')).toBe(tags ? tags : null);
          // Nothing the user typed adds a parameter of its own.
          const own = collection.includes('?') ? 1 : 0;
          expect([...params.keys()].length).toBe(1 + own + (offset ? 1 : 0) + (tags ? 1 : 0));
          // A `next` that is our own path gives back the offset.
          expect(offsetOf(built)).toBe(offset ? offset : null);
        },
      ),
    );
  });

  it("reads Kong's next, and none on the last page", () => {
    expect(offsetOf('/services?offset=WyJhIl0%3D')).toBe('WyJhIl0=');
    expect(offsetOf('/services?size=2&offset=abc&tags=x')).toBe('abc');
    expect(offsetOf(null)).toBeNull();
    expect(offsetOf('/services')).toBeNull();
    fc.assert(fc.property(fc.string(), (s) => void offsetOf(s)));
  });

  it('keeps the tag filter as all-of (,) or any-of (/), refusing both at once', () => {
    expect(tagFilter(' a , b ,, ')).toEqual({ tags: 'a,b' });
    expect(tagFilter('a / b')).toEqual({ tags: 'a/b' });
    expect(tagFilter('a,b/c')).toHaveProperty('error');
    fc.assert(
      fc.property(fc.string(), (s) => {
        const r = tagFilter(s);
        if ('tags' in r) {
          expect(r.tags.includes(',') && r.tags.includes('/')).toBe(false);
          for (const t of r.tags.split(/[,/]/)) if (r.tags) expect(t.trim()).toBe(t);
        }
      }),
    );
  });

  it('walks forward and back through pages as a stack of offsets', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 40 }), (moves) => {
        const c = new PageCursor();
        const stack: (string | null)[] = [];
        let current: string | null = null;
        moves.forEach((forward, i) => {
          c.next = `o${i}`;
          if (forward) {
            stack.push(current);
            current = `o${i}`;
            c.forward();
          } else if (stack.length) {
            current = stack.pop() ?? null;
            c.back();
          } else c.back();
          expect(c.current).toBe(current);
          expect(c.pageNumber).toBe(stack.length + 1);
          expect(c.hasPrevious).toBe(stack.length > 0);
        });
      }),
    );
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { applySelector, parseSelector, type Selector } from './selectors.js';

const MASK = () => 'X';

function apply(selector: string, doc: unknown): unknown {
  const s = parseSelector(selector);
  if ('error' in s) throw new Error(s.error);
  return applySelector(structuredClone(doc), s, MASK);
}

const DOC = {
  user: { email: 'a@b.test', name: 'Ann', card_number: '4111' },
  items: [
    { ssn: '1', keep: 'k' },
    { ssn: '2', nested: { card_number: '5500' } },
  ],
  a: ['first', 'second'],
  'odd key': 'v',
};

describe('data-masking selectors', () => {
  it.each([
    ['$.user.email', { user: { ...DOC.user, email: 'X' } }],
    ["$['user']['name']", { user: { ...DOC.user, name: 'X' } }],
    [
      '$.items[*].ssn',
      {
        items: [
          { ssn: 'X', keep: 'k' },
          { ssn: 'X', nested: { card_number: '5500' } },
        ],
      },
    ],
    ['$.a[0]', { a: ['X', 'second'] }],
    ['$.a[5]', {}],
    ["$['odd key']", { 'odd key': 'X' }],
    ['$.missing.deeper', {}],
  ])('%s masks exactly the selected value', (selector, changed) => {
    expect(apply(selector, DOC)).toEqual({ ...DOC, ...changed });
  });

  it('$..name masks the name at every depth', () => {
    expect(apply('$..card_number', DOC)).toEqual({
      ...DOC,
      user: { ...DOC.user, card_number: 'X' },
      items: [DOC.items[0], { ssn: '2', nested: { card_number: 'X' } }],
    });
  });

  it('$ and $.* and ..[*] reach the root, every member and every element', () => {
    expect(apply('$', { a: 1 })).toBe('X');
    expect(apply('$.*', { a: 1, b: [2] })).toEqual({ a: 'X', b: 'X' });
    expect(apply('$..[*]', [[1], 2])).toEqual(['X', 'X']);
  });

  it('masks a selected subtree once (no double masking under recursive descent)', () => {
    let calls = 0;
    const s = parseSelector('$..a') as Selector;
    applySelector({ a: { a: 'inner' } }, s, () => {
      calls++;
      return 'X';
    });
    expect(calls).toBe(1);
  });

  it('treats __proto__ as a plain own key, never the prototype', () => {
    const doc = JSON.parse('{"__proto__":{"secret":"s"},"x":1}') as unknown;
    const out = applySelector(doc, parseSelector('$.__proto__') as Selector, MASK) as Record<string, unknown>;
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toBe('X');
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    // A document without that own key is left alone (the prototype is not "selected").
    expect(apply('$.__proto__', { x: 1 })).toEqual({ x: 1 });
    expect(apply('$.constructor', { x: 1 })).toEqual({ x: 1 });
  });

  it.each([
    ['user.email', /must start with '\$'/],
    ['$.a[?(@.x)]', /only \[n\], \[\*\] and \['name'\]/],
    ['$.a[-1]', /only \[n\]/],
    ['$.a[0:2]', /expected|only/],
    ["$['open", /unterminated/],
    ['$.', /expected a name/],
    ['$..', /expected a name/],
    ['$x', /unexpected 'x'/],
    ['$' + '.a'.repeat(40), /more than 32 steps/],
  ])('refuses %s with a message naming the selector', (selector, message) => {
    const r = parseSelector(selector);
    expect(r).toHaveProperty('error');
    const error = (r as { error: string }).error;
    expect(error).toMatch(message);
    if (selector.length <= 512) expect(error).toContain(selector);
  });

  it('parses or refuses any string, and never pollutes a prototype when applied (fast-check)', () => {
    const piece = fc.constantFrom(
      '$',
      '.',
      '..',
      '[',
      ']',
      '*',
      "'",
      '"',
      '0',
      '12',
      'a',
      '__proto__',
      'constructor',
      'prototype',
      '\\',
      '-',
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(piece, { maxLength: 12 }).map((p) => p.join('')),
          fc.string({ maxLength: 30 }),
        ),
        fc.jsonValue({ maxDepth: 4 }),
        (text, doc) => {
          const s = parseSelector(text);
          if ('error' in s) {
            expect(s.error).toMatch(/^invalid selector/);
            return;
          }
          applySelector(doc, s, MASK);
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
          expect(Object.getPrototypeOf({})).toBe(Object.prototype);
        },
      ),
      { numRuns: 500 },
    );
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isGatehouseError } from '@gatehouse/shared';
import { decodeOffset, parseSize, parseTags } from '../store/pagination.js';
import { NOT_UTF8, percentDecodeBytes, queryArgs, utf8ErrorPosition } from './query-args.js';

/** A request target as Node hands it over: ASCII, `%XX` escapes of any byte, `+`, `&`, `=`. */
const rawQuery = fc
  .array(
    fc.oneof(
      fc.integer({ min: 0, max: 255 }).map((b) => `%${b.toString(16).padStart(2, '0')}`),
      fc.constantFrom('&', '=', '+', '%', '%z', '?', '#', ',', '/', 'tags', 'size', 'offset'),
      fc.string({ maxLength: 4 }),
    ),
    { maxLength: 20 },
  )
  .map((parts) => `/x?${parts.join('')}`);

/** What the query parsers may throw: only a GatehouseError answering 400. */
const expectClientError = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    expect(isGatehouseError(e) && e.status === 400, String(e)).toBe(true);
  }
};

describe('queryArgs', () => {
  it('reads any query string without throwing: each value is text or NOT_UTF8', () => {
    fc.assert(
      fc.property(rawQuery, (url) => {
        for (const [name, values] of queryArgs(url)) {
          expect(typeof name).toBe('string');
          for (const v of values) expect(typeof v === 'string' || v === NOT_UTF8).toBe(true);
        }
      }),
    );
  });

  it('gives back any well-formed string a client percent-encodes, in order', () => {
    fc.assert(
      fc.property(fc.array(fc.fullUnicodeString({ maxLength: 10 }), { maxLength: 4 }), (values) => {
        const url = `/x?${values.map((v) => `k=${encodeURIComponent(v)}`).join('&')}`;
        expect(queryArgs(url).get('k') ?? []).toEqual(values);
      }),
    );
  });

  it('marks bytes that are not UTF-8, reads + as a space, and a bare name as empty', () => {
    const args = queryArgs('/x?a=%FF&b=a+b&c&d=%C3%A9&e=%C3%28');
    expect(args.get('a')).toEqual([NOT_UTF8]);
    expect(args.get('b')).toEqual(['a b']);
    expect(args.get('c')).toEqual(['']);
    expect(args.get('d')).toEqual(['é']);
    expect(args.get('e')).toEqual([NOT_UTF8]);
  });

  it('utf8ErrorPosition agrees with a strict decoder and names the first bad byte (1-based)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), (bytes) => {
        let valid = true;
        try {
          new TextDecoder('utf-8', { fatal: true }).decode(bytes);
        } catch {
          valid = false;
        }
        const position = utf8ErrorPosition(bytes);
        expect(position === undefined).toBe(valid);
        if (position !== undefined) expect(position).toBeGreaterThanOrEqual(1);
      }),
    );
    expect(utf8ErrorPosition(percentDecodeBytes('a%F0%9F%A6'))).toBe(2);
    expect(utf8ErrorPosition(percentDecodeBytes('%FF'))).toBe(1);
  });
});

describe('size, offset and tags parsers over hostile input', () => {
  it('answer a value or a 400, never another error', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.fullUnicodeString(), fc.constantFrom('', ' ', '0x', 'inf', '1e400')),
        (s) => {
          expectClientError(() => parseSize(s));
          expectClientError(() => decodeOffset(s));
          expectClientError(() => parseTags(s));
        },
      ),
    );
  });

  it('parseSize follows Lua tonumber then Kong bounds', () => {
    expect(parseSize(undefined)).toBe(100);
    expect(parseSize(' 7 ')).toBe(7);
    expect(parseSize('0x10')).toBe(16);
    expect(parseSize('1e3')).toBe(1000);
    for (const bad of ['', 'x', '1,2', '0x']) expect(() => parseSize(bad)).toThrow('size must be a number');
    expect(() => parseSize(['1', '2'])).toThrow('size must be a number');
    for (const bad of ['0', '1001', '1.5', 'nan', '-inf'])
      expect(() => parseSize(bad)).toThrow('size must be an integer between 1 and 1000');
  });

  it('parseTags splits Kong filters and refuses what Kong refuses', () => {
    expect(parseTags(undefined)).toEqual({});
    expect(parseTags('a b,c')).toEqual({ tags: ['a b', 'c'], tagsMode: 'all' });
    expect(parseTags('a/🦍')).toEqual({ tags: ['a', '🦍'], tagsMode: 'any' });
    expect(() => parseTags('')).toThrow('invalid option (tags: cannot be null)');
    for (const bad of [null, 'a,b/c', ',a', 'a,,b', 'a\u0001'])
      expect(() => parseTags(bad)).toThrow('invalid filter syntax');
    expect(() => parseTags('a,b,c,d,e,f')).toThrow('cannot query more than 5 tags');
  });
});

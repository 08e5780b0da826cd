import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matchTemplate, parseTemplate, type PathTemplate } from './path-template.js';

const parse = (s: string): PathTemplate => {
  const t = parseTemplate(s);
  if (typeof t === 'string') throw new Error(t);
  return t;
};
const match = (template: string, path: string) => {
  const m = matchTemplate(parse(template), path);
  return m === null ? null : Object.fromEntries(m);
};

describe('grpc-gateway path templates', () => {
  it('binds single-segment variables, nested field paths and literals', () => {
    expect(match('/v1/shelves/{shelf}/books/{book}', '/v1/shelves/12/books/abc')).toEqual({
      shelf: '12',
      book: 'abc',
    });
    expect(match('/v1/echo/{author.name}', '/v1/echo/ann')).toEqual({ 'author.name': 'ann' });
    expect(match('/v1/shelves/{shelf}/books/{book}', '/v1/shelves/12/books')).toBeNull();
    expect(match('/v1/shelves/{shelf}/books/{book}', '/v1/shelves/12/books/abc/extra')).toBeNull();
    expect(match('/v1/shelves/{shelf}', '/v2/shelves/1')).toBeNull();
    // A one-segment variable never matches an empty segment.
    expect(match('/v1/shelves/{shelf}', '/v1/shelves/')).toBeNull();
  });

  it('binds `{name=shelves/*/books/*}` to the segments it spans, joined by /', () => {
    expect(match('/v1/{name=shelves/*/books/*}', '/v1/shelves/1/books/2')).toEqual({
      name: 'shelves/1/books/2',
    });
    expect(match('/v1/{name=shelves/*/books/*}', '/v1/shelves/1/authors/2')).toBeNull();
    expect(match('/v1/{name=shelves/*/books/*}', '/v1/shelves/1/books')).toBeNull();
  });

  it('lets `**` take the rest of the path, zero or more segments', () => {
    expect(match('/v1/messages/legacy/{greeting=**}', '/v1/messages/legacy/a/b/c')).toEqual({
      greeting: 'a/b/c',
    });
    expect(match('/v1/files/**', '/v1/files')).toEqual({});
    expect(match('/v1/files/**', '/v1/files/x/y')).toEqual({});
  });

  it('matches a `:verb` suffix and nothing without it', () => {
    expect(match('/v1/{name}:publish', '/v1/book1:publish')).toEqual({ name: 'book1' });
    expect(match('/v1/{name}:publish', '/v1/book1')).toBeNull();
    expect(match('/v1/{name}', '/v1/book1:publish')).toEqual({ name: 'book1:publish' });
  });

  it('percent-decodes variable values and refuses a bad escape', () => {
    expect(match('/v1/{a}', '/v1/x%20y%2F..')).toEqual({ a: 'x y/..' });
    expect(match('/v1/{a}', '/v1/%E0%A4%A')).toBeNull();
    expect(match('/v1/{a}', '/v1/%zz')).toBeNull();
  });

  it('keeps a trailing slash as a literal (Kong\'s test proto has `post: "/v1/messages/"`)', () => {
    expect(match('/v1/messages/', '/v1/messages/')).toEqual({});
    expect(match('/v1/messages/', '/v1/messages')).toBeNull();
  });

  it('refuses malformed templates naming what is wrong', () => {
    expect(parseTemplate('v1/x')).toBe("path template 'v1/x': must start with '/'");
    expect(parseTemplate('/v1/{a')).toBe("path template '/v1/{a': '{' without '}'");
    expect(parseTemplate('/v1/{a-b}')).toBe("path template '/v1/{a-b}': invalid field path 'a-b'");
    expect(parseTemplate('/v1/{a}/{a}')).toBe("path template '/v1/{a}/{a}': field 'a' bound twice");
    expect(parseTemplate('/v1/**/x')).toBe("path template '/v1/**/x': '**' must be the last segment");
    expect(parseTemplate('/v1/{a}x')).toBe("path template '/v1/{a}x': text after '}' in a segment");
    expect(parseTemplate('/v1/a b')).toBe("path template '/v1/a b': invalid segment 'a b'");
    expect(parseTemplate('/v1/{a={b}}')).toBe("path template '/v1/{a={b}}': nested variables");
  });

  it('never throws on any template or path, and a match binds every variable', () => {
    const piece = fc.constantFrom(
      '/',
      '{',
      '}',
      '=',
      '*',
      '**',
      ':',
      '.',
      'a',
      'b1',
      '%',
      '%2F',
      '..',
      '_x',
      'é',
      '\u0000',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 16 }), fc.array(piece, { maxLength: 16 }), (t, p) => {
        const template = parseTemplate(`/${t.join('')}`);
        if (typeof template === 'string') return;
        const m = matchTemplate(template, `/${p.join('')}`);
        if (m !== null) expect([...m.keys()].sort()).toEqual(template.variables.map((v) => v.field).sort());
      }),
      { numRuns: 2000 },
    );
  });
});

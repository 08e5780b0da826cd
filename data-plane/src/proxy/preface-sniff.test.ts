import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { H2_PREFACE } from './http2-edge.js';
import { Preface, prefaceOf } from './preface-sniff.js';

describe('the HTTP/2 preface sniff', () => {
  it('knows the preface, its beginnings, and what is not it', () => {
    expect(prefaceOf(H2_PREFACE)).toBe(Preface.H2);
    expect(prefaceOf(Buffer.concat([H2_PREFACE, Buffer.from([0, 0, 0, 4])]))).toBe(Preface.H2);
    expect(prefaceOf(H2_PREFACE.subarray(0, 1))).toBe(Preface.More);
    expect(prefaceOf(H2_PREFACE.subarray(0, 23))).toBe(Preface.More);
    for (const h1 of ['GET / HTTP/1.1\r\n', 'POST /', 'PUT /', 'PATCH /', 'PROPFIND /', 'PRI * HTTP/1.1\r\n'])
      expect(prefaceOf(Buffer.from(h1)), h1).toBe(Preface.H1);
  });

  it('decides on the first differing byte: any bytes are H2 only with the whole preface', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 40 }), (bytes) => {
        const v = prefaceOf(bytes);
        const n = Math.min(bytes.length, H2_PREFACE.length);
        const agrees = Buffer.from(bytes.subarray(0, n)).equals(H2_PREFACE.subarray(0, n));
        if (!agrees) expect(v).toBe(Preface.H1);
        else expect(v).toBe(bytes.length >= H2_PREFACE.length ? Preface.H2 : Preface.More);
      }),
    );
  });
});

import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readBody } from './read-body.js';

type Outcome =
  | { kind: 'whole'; body: Buffer }
  | { kind: 'over'; read: Buffer; size: number }
  | { kind: 'failed'; message: string };

/** Feeds `chunks` into a stream (then ends, errors or closes it) and reads it with `limit`. */
function read(
  chunks: readonly Uint8Array[],
  limit: number,
  ending: 'end' | 'error' | 'close',
): Promise<Outcome[]> {
  const source = new PassThrough();
  const outcomes: Outcome[] = [];
  return new Promise((resolve) => {
    readBody(source, limit, {
      whole: (body) => outcomes.push({ kind: 'whole', body }),
      over: (r, size) => outcomes.push({ kind: 'over', read: Buffer.concat(r), size }),
      failed: (err) => outcomes.push({ kind: 'failed', message: err.message }),
    });
    for (const c of chunks) source.write(Buffer.from(c));
    if (ending === 'end') source.end();
    else if (ending === 'error') source.destroy(new Error('the client went away'));
    else source.destroy();
    setTimeout(() => resolve(outcomes), 5);
  });
}

describe('readBody', () => {
  it('gives the whole body when it is at most the limit, else what was read once past it; exactly one outcome, bytes as sent', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 64 }), { maxLength: 12 }),
        fc.nat({ max: 400 }),
        async (chunks, limit) => {
          const sent = Buffer.concat(chunks.map((c) => Buffer.from(c)));
          const outcomes = await read(chunks, limit, 'end');
          expect(outcomes).toHaveLength(1);
          const o = outcomes[0]!;
          if (sent.length <= limit) {
            expect(o.kind).toBe('whole');
            expect((o as { body: Buffer }).body.equals(sent)).toBe(true);
          } else {
            expect(o.kind).toBe('over');
            const over = o as { read: Buffer; size: number };
            expect(over.size).toBe(over.read.length);
            expect(over.size).toBeGreaterThan(limit);
            // Read up to the chunk that crossed the limit, and no further.
            expect(over.read.equals(sent.subarray(0, over.size))).toBe(true);
            let crossing = 0;
            let at = 0;
            for (const c of chunks) {
              at += c.length;
              if (at > limit) {
                crossing = at;
                break;
              }
            }
            expect(over.size).toBe(crossing);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('tells a failed stream, and a stream closed before its end, as failed', async () => {
    expect(await read([Buffer.from('ab')], 100, 'error')).toEqual([
      { kind: 'failed', message: 'the client went away' },
    ]);
    expect(await read([Buffer.from('ab')], 100, 'close')).toEqual([
      {
        kind: 'failed',
        message: 'the client closed the connection before the end of the request body',
      },
    ]);
  });

  it('gives an empty body for a stream already ended', async () => {
    const source = new PassThrough();
    source.end();
    source.resume();
    await new Promise((r) => source.on('end', r));
    let body: Buffer | null = null;
    readBody(source, 10, { whole: (b) => (body = b), over: () => undefined, failed: () => undefined });
    expect(body).toEqual(Buffer.alloc(0));
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { closeFrame, FrameLimiter } from './frame-limit.js';

interface Frame {
  fin: boolean;
  opcode: number;
  length: number;
  masked: boolean;
}

/** Encodes a frame header and a zero payload of `length` bytes (RFC 6455 5.2). */
function encode(f: Frame): Buffer {
  const head: number[] = [(f.fin ? 0x80 : 0) | f.opcode];
  const m = f.masked ? 0x80 : 0;
  if (f.length < 126) head.push(m | f.length);
  else if (f.length < 65536) head.push(m | 126, f.length >> 8, f.length & 0xff);
  else {
    head.push(m | 127, 0, 0, 0, 0);
    head.push((f.length >>> 24) & 0xff, (f.length >> 16) & 0xff, (f.length >> 8) & 0xff, f.length & 0xff);
  }
  if (f.masked) head.push(1, 2, 3, 4);
  return Buffer.concat([Buffer.from(head), Buffer.alloc(f.length)]);
}

/** The verdict computed on whole frames: index of the first frame that passes the limit, or -1. */
function firstOver(frames: readonly Frame[], limit: number): number {
  let message = 0;
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i]!;
    if (f.opcode >= 8) continue;
    const total = f.opcode === 0 ? message + f.length : f.length;
    if (total > limit) return i;
    message = f.fin ? 0 : total;
  }
  return -1;
}

/** Feeds `bytes` cut at `cuts`; the number of bytes accepted before a refusal (all when none). */
function feedSplit(limiter: FrameLimiter, bytes: Buffer, cuts: number[]): boolean {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let from = 0;
  for (const p of [...points, bytes.length]) {
    if (!limiter.feed(bytes.subarray(from, p))) return false;
    from = p;
  }
  return true;
}

const frameArb = fc.record({
  fin: fc.boolean(),
  opcode: fc.constantFrom(0, 1, 2, 3, 8, 9, 10),
  length: fc.oneof(fc.integer({ min: 0, max: 130 }), fc.integer({ min: 126, max: 70_000 })),
  masked: fc.boolean(),
});

describe('FrameLimiter (message size from frame headers only)', () => {
  it('passes a message at the limit and refuses one byte more', () => {
    const ok = new FrameLimiter(100);
    expect(ok.feed(encode({ fin: true, opcode: 2, length: 100, masked: true }))).toBe(true);
    const over = new FrameLimiter(100);
    expect(over.feed(encode({ fin: true, opcode: 2, length: 101, masked: true }))).toBe(false);
  });

  it('refuses as soon as the header announces the length, before any payload byte', () => {
    const limiter = new FrameLimiter(1000);
    const header = encode({ fin: true, opcode: 1, length: 5000, masked: false }).subarray(0, 4);
    expect(limiter.feed(header)).toBe(false);
  });

  it('adds the fragments of one message and ignores control frames between them', () => {
    const limiter = new FrameLimiter(100);
    expect(limiter.feed(encode({ fin: false, opcode: 2, length: 60, masked: true }))).toBe(true);
    expect(limiter.feed(encode({ fin: true, opcode: 9, length: 100, masked: true }))).toBe(true);
    expect(limiter.feed(encode({ fin: false, opcode: 0, length: 40, masked: true }))).toBe(true);
    expect(limiter.feed(encode({ fin: true, opcode: 0, length: 1, masked: true }))).toBe(false);
  });

  it('starts counting again after FIN', () => {
    const limiter = new FrameLimiter(100);
    for (let i = 0; i < 5; i++)
      expect(limiter.feed(encode({ fin: true, opcode: 1, length: 100, masked: false }))).toBe(true);
  });

  it('treats a 64-bit length beyond 2^53 as over any limit', () => {
    const limiter = new FrameLimiter(2 ** 31);
    expect(limiter.feed(Buffer.from([0x82, 0x7f, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]))).toBe(false);
  });

  it('keeps refusing once over', () => {
    const limiter = new FrameLimiter(1);
    expect(limiter.feed(encode({ fin: true, opcode: 2, length: 2, masked: false }))).toBe(false);
    expect(limiter.feed(encode({ fin: true, opcode: 2, length: 0, masked: false }))).toBe(false);
  });

  it('gives the same verdict however the bytes are cut into chunks (property)', () => {
    fc.assert(
      fc.property(
        fc.array(frameArb, { maxLength: 12 }),
        fc.integer({ min: 1, max: 80_000 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (frames, limit, cuts) => {
          const bytes = Buffer.concat(frames.map(encode));
          const expected = firstOver(frames, limit) < 0;
          expect(feedSplit(new FrameLimiter(limit), bytes, cuts)).toBe(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never throws on garbage bytes (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2000 }),
        fc.integer({ min: 1, max: 1 << 24 }),
        (bytes, limit) => {
          const limiter = new FrameLimiter(limit);
          expect(typeof limiter.feed(Buffer.from(bytes))).toBe('boolean');
        },
      ),
    );
  });
});

describe('closeFrame', () => {
  it('encodes the code unmasked for a client and masked for a server', () => {
    expect([...closeFrame(1009, false)]).toEqual([0x88, 0x02, 0x03, 0xf1]);
    const masked = closeFrame(1009, true);
    expect(masked[1]).toBe(0x82);
    const key = masked.subarray(2, 6);
    expect([masked[6]! ^ key[0]!, masked[7]! ^ key[1]!]).toEqual([0x03, 0xf1]);
  });
});

import fc from 'fast-check';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ProxyRequest } from './request.js';
import { bufferBody, buffersBody } from './request-buffering.js';

/** The fields of a routed ProxyRequest that buffering reads and writes. */
function requestWith(
  body: Readable | Buffer | null,
  over: Partial<Record<string, unknown>> = {},
): ProxyRequest {
  return {
    body,
    headers: ['host', 'up', 'transfer-encoding-was-dropped', 'x'],
    entry: { requestBuffering: true },
    grpc: false,
    upgrade: false,
    ...over,
  } as unknown as ProxyRequest;
}

function buffered(request: ProxyRequest, limit: number): Promise<ProxyRequest> {
  return new Promise((resolve, reject) =>
    bufferBody(
      request,
      () => resolve(request),
      (err) => reject(err),
      limit,
    ),
  );
}

async function bytesOf(body: Buffer | Readable): Promise<Buffer> {
  if (Buffer.isBuffer(body)) return body;
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const contentLength = (headers: string[]): string | undefined => {
  const i = headers.findIndex((h, n) => n % 2 === 0 && h.toLowerCase() === 'content-length');
  return i < 0 ? undefined : headers[i + 1];
};

describe('request buffering (Kong request_buffering)', () => {
  it('buffers only a streamed client body, on a route that asks, for neither gRPC nor an upgrade', () => {
    const stream = new PassThrough();
    expect(buffersBody(requestWith(stream))).toBe(true);
    expect(buffersBody(requestWith(null))).toBe(false);
    expect(buffersBody(requestWith(Buffer.from('read by a plugin')))).toBe(false);
    expect(buffersBody(requestWith(stream, { entry: { requestBuffering: false } }))).toBe(false);
    expect(buffersBody(requestWith(stream, { grpc: true }))).toBe(false);
    expect(buffersBody(requestWith(stream, { upgrade: true }))).toBe(false);
  });

  it('hands on every byte, in order: whole with Content-Length up to the limit, streamed past it (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 20 }),
        fc.integer({ min: 0, max: 3000 }),
        async (parts, limit) => {
          const chunks = parts.map((p) => Buffer.from(p));
          const all = Buffer.concat(chunks);
          const request = await buffered(requestWith(Readable.from(chunks, { objectMode: false })), limit);
          const body = request.body!;
          expect(await bytesOf(body)).toEqual(all);
          if (all.length <= limit) {
            expect(Buffer.isBuffer(body)).toBe(true);
            expect(contentLength(request.headers)).toBe(String(all.length));
          } else {
            expect(Buffer.isBuffer(body)).toBe(false);
            expect(contentLength(request.headers)).toBeUndefined();
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('fails when the client goes away before the end of its body, or its stream errors', async () => {
    const cut = new PassThrough();
    const pending = buffered(requestWith(cut), 1024);
    cut.write('part');
    cut.destroy();
    await expect(pending).rejects.toThrow(/before the end of the request body/);

    const failing = new PassThrough();
    const errored = buffered(requestWith(failing), 1024);
    failing.destroy(new Error('request body larger than 10 bytes'));
    await expect(errored).rejects.toThrow('request body larger than 10 bytes');
  });

  it('sends an already ended body as an empty Content-Length body', async () => {
    const ended = Readable.from([]);
    ended.resume();
    await new Promise((r) => ended.on('end', r));
    const request = await buffered(requestWith(ended), 1024);
    expect(request.body).toEqual(Buffer.alloc(0));
    expect(contentLength(request.headers)).toBe('0');
  });
});

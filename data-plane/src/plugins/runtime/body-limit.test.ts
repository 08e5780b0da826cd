import { describe, expect, it } from 'vitest';
import { PassThrough, Readable } from 'node:stream';
import { limitBody } from './body-limit.js';

function collect(stream: Readable): Promise<{ data: Buffer; error: (Error & { code?: string }) | null }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve({ data: Buffer.concat(chunks), error: null }));
    stream.on('error', (error) => resolve({ data: Buffer.concat(chunks), error }));
  });
}

describe('limitBody', () => {
  it('passes a body up to the limit through unchanged', async () => {
    const { data, error } = await collect(
      limitBody(Readable.from([Buffer.from('abc'), Buffer.from('de')]), 5),
    );
    expect(error).toBeNull();
    expect(data.toString()).toBe('abcde');
  });

  it('fails with GH_ERR_PLUGIN_BODY_TOO_LARGE at the chunk crossing the limit, forwarding nothing of it', async () => {
    const { data, error } = await collect(
      limitBody(Readable.from([Buffer.from('abc'), Buffer.from('def')]), 5),
    );
    expect(error?.code).toBe('GH_ERR_PLUGIN_BODY_TOO_LARGE');
    expect(data.toString()).toBe('abc');
  });

  it('fails while the client is still sending, without waiting for the end of the body', async () => {
    const source = new PassThrough();
    const result = collect(limitBody(source, 10));
    source.write(Buffer.alloc(8));
    source.write(Buffer.alloc(8));
    const { error } = await result;
    expect(error?.code).toBe('GH_ERR_PLUGIN_BODY_TOO_LARGE');
    expect(source.writableEnded).toBe(false);
  });

  it('passes on an error of the source', async () => {
    const source = new PassThrough();
    const result = collect(limitBody(source, 10));
    source.destroy(Object.assign(new Error('reset'), { code: 'ECONNRESET' }));
    expect((await result).error?.code).toBe('ECONNRESET');
  });

  it('does not read the source before the capped stream is read (a balanced retry may resend it)', async () => {
    const source = new PassThrough();
    source.write(Buffer.from('abc'));
    const limited = limitBody(source, 10);
    await new Promise((resolve) => setImmediate(resolve));
    expect(source.readableDidRead).toBe(false);
    const result = collect(limited);
    source.end();
    expect((await result).data.toString()).toBe('abc');
    expect(source.readableDidRead).toBe(true);
  });
});

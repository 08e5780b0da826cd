import { describe, expect, it } from 'vitest';
import { schema } from '@gatehouse/shared';
import plugin, { LENGTH_REQUIRED_MESSAGE, TOO_LARGE_MESSAGE } from './plugin.js';
import { FakeContext, initPlugin } from '../acl/fixtures/fake-context.js';

class LimitedBodyContext extends FakeContext {
  bodyReads = 0;
  limit: number | null = null;
  override body(): Promise<Buffer> {
    this.bodyReads++;
    return super.body();
  }
  override limitBody(maxBytes: number): void {
    this.limit = maxBytes;
  }
}

async function run(
  config: Record<string, unknown>,
  headers: string[],
  body?: Buffer,
): Promise<LimitedBodyContext> {
  const state = initPlugin(plugin, schema.validate(plugin.schema, config).value);
  const ctx = new LimitedBodyContext({ method: 'POST', headers, body });
  await plugin.access!(ctx, state);
  return ctx;
}

describe('request-size-limiting', () => {
  it('returns 413 when Content-Length is over the limit, before reading the body', async () => {
    const ctx = await run({ allowed_payload_size: 1, size_unit: 'kilobytes' }, ['Content-Length', '1025']);
    expect(ctx.respondedWith).toMatchObject({ status: 413, message: TOO_LARGE_MESSAGE });
  });

  it('lets a body of exactly the limit through', async () => {
    expect(
      (await run({ allowed_payload_size: 1, size_unit: 'kilobytes' }, ['Content-Length', '1024'])).responded,
    ).toBe(false);
  });

  it('answers 417 when the client expects 100-continue', async () => {
    const ctx = await run({ allowed_payload_size: 10, size_unit: 'bytes' }, [
      'Content-Length',
      '11',
      'Expect',
      '100-Continue',
    ]);
    expect(ctx.respondedWith?.status).toBe(417);
  });

  it('uses megabytes of 2^20 bytes by default', async () => {
    expect((await run({ allowed_payload_size: 1 }, ['Content-Length', String(1048576)])).responded).toBe(
      false,
    );
    expect((await run({ allowed_payload_size: 1 }, ['Content-Length', String(1048577)])).responded).toBe(
      true,
    );
  });

  it('caps a chunked body at the limit while it streams, without reading it', async () => {
    const ctx = await run(
      { allowed_payload_size: 4, size_unit: 'bytes' },
      ['Transfer-Encoding', 'chunked'],
      Buffer.from('12345'),
    );
    expect(ctx.responded).toBe(false);
    expect(ctx.limit).toBe(4);
    expect(ctx.bodyReads).toBe(0);
  });

  it('returns 411 without a valid Content-Length when require_content_length is on', async () => {
    const ctx = await run({ require_content_length: true }, []);
    expect(ctx.respondedWith).toMatchObject({ status: 411, message: LENGTH_REQUIRED_MESSAGE });
    expect(
      (await run({ require_content_length: true }, ['Content-Length', 'abc'])).respondedWith?.status,
    ).toBe(411);
    expect((await run({ require_content_length: true }, ['Transfer-Encoding', 'chunked'])).responded).toBe(
      false,
    );
  });

  it('fills Kong defaults and refuses an unknown unit', () => {
    expect(schema.validate(plugin.schema, {}).value).toEqual({
      allowed_payload_size: 128,
      size_unit: 'megabytes',
      require_content_length: false,
    });
    expect(schema.check(plugin.schema, { size_unit: 'gigabytes' }).errors).not.toBeNull();
  });
});

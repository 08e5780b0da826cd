import { describe, expect, it } from 'vitest';
import { schema } from '@gatehouse/shared';
import plugin, { LENGTH_REQUIRED_MESSAGE } from './plugin.js';
import { initialise, outcome, pluginRequest, snapshotOf } from '../runtime/test-support.js';

const snapshot = snapshotOf({});

async function run(config: Record<string, unknown>, headers: [string, string][], body?: string) {
  const state = initialise(plugin, snapshot, config);
  const ctx = pluginRequest(snapshot, { method: 'POST', headers, body });
  await plugin.access!(ctx, state);
  return outcome(ctx);
}

describe('request-size-limiting', () => {
  it('returns 413 when Content-Length is over the limit, before reading the body', async () => {
    const out = await run({ allowed_payload_size: 1, size_unit: 'kilobytes' }, [['Content-Length', '1025']]);
    expect(out.answer).toMatchObject({
      status: 413,
      headers: { connection: 'close' },
      json: { message: 'Request size limit exceeded' },
    });
  });

  it('lets a body of exactly the limit through', async () => {
    expect(
      (await run({ allowed_payload_size: 1, size_unit: 'kilobytes' }, [['Content-Length', '1024']])).answer,
    ).toBeNull();
  });

  it('answers 417 when the client expects 100-continue', async () => {
    const out = await run({ allowed_payload_size: 10, size_unit: 'bytes' }, [
      ['Content-Length', '11'],
      ['Expect', '100-Continue'],
    ]);
    expect(out.answer).toMatchObject({
      status: 417,
      headers: { connection: 'close' },
      json: { message: 'Request size limit exceeded' },
    });
  });

  it('uses megabytes of 2^20 bytes by default', async () => {
    expect((await run({ allowed_payload_size: 1 }, [['Content-Length', String(1048576)]])).answer).toBeNull();
    expect(
      (await run({ allowed_payload_size: 1 }, [['Content-Length', String(1048577)]])).answer,
    ).not.toBeNull();
  });

  it('caps a chunked body at the limit while it streams, without reading it', async () => {
    const out = await run(
      { allowed_payload_size: 4, size_unit: 'bytes' },
      [['Transfer-Encoding', 'chunked']],
      '12345',
    );
    expect(out).toMatchObject({ answer: null, bodyLimit: 4, bodyRead: false });
  });

  it('returns 411 without a valid Content-Length when require_content_length is on', async () => {
    const out = await run({ require_content_length: true }, []);
    expect(out.answer).toMatchObject({ status: 411, json: { message: LENGTH_REQUIRED_MESSAGE } });
    expect((await run({ require_content_length: true }, [['Content-Length', 'abc']])).answer?.status).toBe(
      411,
    );
    expect(
      (await run({ require_content_length: true }, [['Transfer-Encoding', 'chunked']])).answer,
    ).toBeNull();
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

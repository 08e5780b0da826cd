import { createHmac } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { schema } from '@gatehouse/shared';
import plugin from './plugin.js';
import {
  initialise,
  outcome,
  pluginRequest,
  run,
  snapshotOf,
  type TestRequest,
} from '../runtime/test-support.js';

const snapshot = snapshotOf({});
const JSON_CT: [string, string] = ['Content-Type', 'application/json'];
const SECRET = 'a-sixteen-char-secret';

function stateOf(config: Record<string, unknown>) {
  return initialise(plugin, snapshot, config);
}

/** The body sent upstream after the access phase (parsed), and the outcome. */
async function maskRequest(config: Record<string, unknown>, r: TestRequest) {
  const length: [string, string][] =
    r.body === undefined ? [] : [['Content-Length', String(Buffer.byteLength(r.body))]];
  const ctx = pluginRequest(snapshot, { method: 'POST', ...r, headers: [...(r.headers ?? []), ...length] });
  await run(plugin.access!(ctx, stateOf(config)));
  const body = ctx.upstreamBody;
  return { ctx, out: outcome(ctx), json: body === null ? null : (JSON.parse(body.toString()) as unknown) };
}

/** Runs the response phase over an upstream response; the body sent to the client. */
function maskResponse(config: Record<string, unknown>, headers: string[], body: Buffer | string) {
  const state = stateOf(config);
  const ctx = pluginRequest(snapshot, {});
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const view = ctx.setResponse(200, headers, null);
  const buffered = typeof plugin.bufferResponse === 'function' ? plugin.bufferResponse(state, view) : false;
  ctx.setResponse(200, headers, buffered ? buf : null);
  void plugin.response!(ctx, state);
  return { buffered, ctx, sent: ctx.responseBody ?? buf, out: outcome(ctx) };
}

describe('data-masking (request)', () => {
  it('redacts selected JSON values sent upstream, with the default "****"', async () => {
    const { json } = await maskRequest(
      { request: { json: ['$.user.email', '$..card_number', '$.items[*].ssn'] } },
      {
        headers: [JSON_CT],
        body: JSON.stringify({
          user: { email: 'a@b.test', name: 'Ann' },
          pay: { card_number: 4111111111111111 },
          items: [{ ssn: '123' }, { ssn: '456', id: 1 }],
        }),
      },
    );
    expect(json).toEqual({
      user: { email: '****', name: 'Ann' },
      pay: { card_number: '****' },
      items: [{ ssn: '****' }, { ssn: '****', id: 1 }],
    });
  });

  it('hashes with HMAC-SHA-256 so equal values stay joinable', async () => {
    const { json } = await maskRequest(
      { mode: 'hash', hash_secret: SECRET, request: { json: ['$[*].email'] } },
      {
        headers: [JSON_CT],
        body: JSON.stringify([{ email: 'x@y.z' }, { email: 'x@y.z' }, { email: 'o@y.z' }]),
      },
    );
    const h = createHmac('sha256', SECRET).update('x@y.z').digest('hex');
    expect(json).toEqual([
      { email: h },
      { email: h },
      { email: createHmac('sha256', SECRET).update('o@y.z').digest('hex') },
    ]);
  });

  it('keeps the last keep_last characters in partial mode, and masks a short value whole', async () => {
    const { json } = await maskRequest(
      { mode: 'partial', keep_last: 4, request: { json: ['$.card', '$.pin'] } },
      { headers: [JSON_CT], body: '{"card":"4111111111111111","pin":"1234"}' },
    );
    expect(json).toEqual({ card: '************1111', pin: '****' });
  });

  it('masks configured request headers (every value)', async () => {
    const { out } = await maskRequest(
      { request: { headers: ['X-Ssn'] } },
      {
        headers: [
          ['x-ssn', '123'],
          ['X-Ssn', '456'],
          ['X-Other', 'keep'],
        ],
      },
    );
    expect(out.upstreamHeaders).toEqual({ 'x-ssn': ['****', '****'] });
  });

  it('runs the detectors over every string of the body', async () => {
    const { json } = await maskRequest(
      { detectors: ['email', 'card', 'iban'] },
      {
        headers: [JSON_CT],
        body: JSON.stringify({
          note: 'mail me: ann@example.com',
          pay: ['4111 1111 1111 1111', 'DE89370400440532013000'],
          n: 4111111111111111,
        }),
      },
    );
    expect(json).toEqual({ note: 'mail me: ****', pay: ['****', '****'], n: 4111111111111111 });
  });

  it.each([
    ['malformed JSON', [JSON_CT], '{"user":'],
    ['a non-JSON type', [['Content-Type', 'text/plain']] as [string, string][], '{"user":{"email":"a@b"}}'],
  ])('passes %s untouched', async (_, headers, body) => {
    const { ctx } = await maskRequest({ request: { json: ['$.user.email'] } }, { headers, body });
    expect(ctx.upstreamBody).toBeNull();
  });

  it('refuses a request body over max_body_size (fail closed: the runtime answers 413)', async () => {
    const body = '{"a":"' + 'x'.repeat(100) + '"}';
    const ctx = pluginRequest(snapshot, {
      method: 'POST',
      headers: [JSON_CT, ['Content-Length', String(body.length)]],
      body,
    });
    await expect(
      run(plugin.access!(ctx, stateOf({ max_body_size: 50, request: { json: ['$.a'] } }))),
    ).rejects.toMatchObject({
      code: 'GH_ERR_PLUGIN_BODY_TOO_LARGE',
    });
  });

  it('keeps a __proto__ key an own key, masked, and pollutes nothing', async () => {
    const { ctx } = await maskRequest(
      { request: { json: ['$.__proto__.email', '$..secret'] } },
      {
        headers: [JSON_CT],
        body: '{"__proto__":{"email":"a@b","secret":"s"},"constructor":{"prototype":{"secret":"t"}}}',
      },
    );
    expect(ctx.upstreamBody!.toString()).toBe(
      '{"__proto__":{"email":"****","secret":"****"},"constructor":{"prototype":{"secret":"****"}}}',
    );
    expect(({} as Record<string, unknown>).email).toBeUndefined();
  });
});

describe('data-masking (response)', () => {
  const config = { response: { json: ['$.email'], headers: ['X-Card'] } };

  it('buffers JSON responses only, and masks body and headers', () => {
    const r = maskResponse(
      config,
      ['Content-Type', 'application/json', 'X-Card', '4111'],
      '{"email":"a@b","id":1}',
    );
    expect(r.buffered).toBe(true);
    expect(r.sent.toString()).toBe('{"email":"****","id":1}');
    expect(r.out.responseHeaders).toEqual({ 'x-card': ['****'] });
    const text = maskResponse(config, ['Content-Type', 'text/html'], '<p>a@b</p>');
    expect(text.buffered).toBe(false);
    expect(text.sent.toString()).toBe('<p>a@b</p>');
  });

  it('decodes a gzip response to mask it and sends it decoded', () => {
    const r = maskResponse(
      config,
      ['Content-Type', 'application/json', 'Content-Encoding', 'gzip'],
      gzipSync('{"email":"a@b"}'),
    );
    expect(r.sent.toString()).toBe('{"email":"****"}');
    expect(r.out.responseHeaders['content-encoding']).toBeNull();
  });

  it('refuses (throws a 502 code) a response in a coding it cannot decode, never passing it unmasked', () => {
    expect(() =>
      maskResponse(config, ['Content-Type', 'application/json', 'Content-Encoding', 'zstd'], 'xx'),
    ).toThrow(expect.objectContaining({ code: 'GH_ERR_PLUGIN_RESPONSE_UNPROCESSABLE' }));
  });

  it('asks the upstream for an uncompressed body and caps buffering at max_body_size', async () => {
    const ctx = pluginRequest(snapshot, {});
    await run(plugin.access!(ctx, stateOf({ ...config, max_body_size: 1000 })));
    expect(outcome(ctx).upstreamHeaders).toEqual({ 'accept-encoding': 'identity' });
    expect(ctx.responseBodyLimit).toBe(1000);
  });

  it('handles a 50 MiB JSON body by refusing it at the cap without reading it whole', async () => {
    const big = Buffer.alloc(50 * 1024 * 1024, 0x61);
    const ctx = pluginRequest(snapshot, {
      method: 'POST',
      headers: [JSON_CT, ['Content-Length', String(big.length)]],
      body: big,
    });
    await expect(run(plugin.access!(ctx, stateOf({ request: { json: ['$.a'] } })))).rejects.toMatchObject({
      code: 'GH_ERR_PLUGIN_BODY_TOO_LARGE',
    });
    expect(ctx.bodyBuffer).toBeNull();
  });
});

describe('data-masking (config)', () => {
  const errorsOf = (c: Record<string, unknown>) => schema.check(plugin.schema, c).errors;

  it('fills defaults', () => {
    expect(schema.validate(plugin.schema, { detectors: ['email'] }).value).toEqual({
      mode: 'redact',
      redaction: '****',
      hash_secret: null,
      keep_last: 4,
      detectors: ['email'],
      max_body_size: 1048576,
      request: { json: [], headers: [] },
      response: { json: [], headers: [] },
    });
  });

  it('refuses a config that masks nothing, hash without a secret, a bad selector (named) and a bad detector', () => {
    expect(JSON.stringify(errorsOf({}))).toMatch(/at least one of/);
    expect(errorsOf({ mode: 'hash', detectors: ['email'] })).not.toBeNull();
    expect(JSON.stringify(errorsOf({ request: { json: ['$.a[?(@.b)]'] } }))).toContain(
      "invalid selector '$.a[?(@.b)]'",
    );
    expect(errorsOf({ detectors: ['ssn'] })).not.toBeNull();
    expect(errorsOf({ request: { headers: ['bad header'] } })).not.toBeNull();
  });

  it('masks hostile bodies or passes them, never throwing or polluting (fast-check)', async () => {
    const state = stateOf({
      detectors: ['email', 'card', 'iban'],
      request: { json: ['$..__proto__', '$..a', '$.*[0]'] },
    });
    const key = fc.constantFrom('a', '__proto__', 'constructor', 'prototype', 'toString', 'email');
    const doc = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc.jsonValue({ maxDepth: 1 }),
        fc.constantFrom('ann@example.com', '4111111111111111', 'GB82 WEST 1234 5698 7654 32'),
        fc.dictionary(key, tie('node'), { maxKeys: 4 }),
        fc.array(tie('node'), { maxLength: 3 }),
      ),
    })).node;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          doc.map((d) => JSON.stringify(d) ?? 'null'),
          fc.string({ unit: 'binary', maxLength: 80 }),
        ),
        async (body) => {
          const headers: [string, string][] = [JSON_CT, ['Content-Length', String(Buffer.byteLength(body))]];
          const ctx = pluginRequest(snapshot, { method: 'POST', headers, body });
          await run(plugin.access!(ctx, state));
          const sent = ctx.upstreamBody?.toString() ?? body;
          expect(sent).not.toContain('ann@example.com');
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
          expect(Object.getPrototypeOf({})).toBe(Object.prototype);
        },
      ),
      { numRuns: 300 },
    );
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { schema } from '@gatehouse/shared';
import plugin, { MAX_REQUEST_BYTES } from './plugin.js';
import { PROTO_UNSUPPORTED } from './schema.js';
import { JSON_TYPE_MESSAGE, UNSUPPORTED_TYPE_MESSAGE } from './framing.js';
import { initialise, outcome, pluginRequest, snapshotOf, type TestRequest } from '../runtime/test-support.js';

const snapshot = snapshotOf({});

async function access(config: Record<string, unknown>, req: TestRequest) {
  const state = initialise(plugin, snapshot, config);
  const ctx = pluginRequest(snapshot, req);
  const r = plugin.access!(ctx, state);
  if (r !== undefined) await r;
  const after = plugin.response!(ctx, state);
  if (after !== undefined) await after;
  return { ctx, out: outcome(ctx) };
}

function frame(message: string): Buffer {
  const body = Buffer.from(message);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

const call = (type: string, body: string | Buffer, path = '/pkg.Svc/Method'): TestRequest => ({
  method: 'POST',
  path,
  headers: [['content-type', type]],
  body,
});

describe('plugin grpc-web (access)', () => {
  it('fills Kong’s defaults and refuses proto with a message that says why', () => {
    expect(schema.validate(plugin.schema, {}).value).toEqual({
      proto: null,
      pass_stripped_path: null,
      allow_origin_header: '*',
    });
    expect(() => schema.validate(plugin.schema, { proto: 'greeter.proto' })).toThrow(PROTO_UNSUPPORTED);
  });

  it('turns a binary call into a gRPC one: the request path, application/grpc, the body as sent', async () => {
    const { ctx, out } = await access({}, call('application/grpc-web+proto', frame('hi')));
    expect(out.answer).toBeNull();
    expect(out.upstreamPath).toBe('/pkg.Svc/Method');
    expect(out.upstreamHeaders).toMatchObject({ 'content-type': 'application/grpc', te: 'trailers' });
    expect(ctx.upstreamBody).toEqual(frame('hi'));
    expect(ctx.responseTransform).not.toBeNull();
    expect(out.responseHeaders).toMatchObject({
      'access-control-allow-origin': '*',
      'access-control-expose-headers': 'grpc-status,grpc-message',
    });
  });

  it('decodes a text call and keeps the route-made path with pass_stripped_path', async () => {
    const { ctx, out } = await access(
      { pass_stripped_path: true, allow_origin_header: 'https://app.example' },
      call('application/grpc-web-text', frame('hi').toString('base64')),
    );
    expect(out.upstreamPath).toBeNull();
    expect(ctx.upstreamBody).toEqual(frame('hi'));
    expect(out.responseHeaders['access-control-allow-origin']).toBe('https://app.example');
  });

  it('answers 400 naming what is wrong: content type, JSON mode, base64, frames', async () => {
    const answer = async (req: TestRequest) => (await access({}, req)).out.answer;
    expect(await answer(call('text/plain', 'x'))).toMatchObject({
      status: 400,
      json: { message: UNSUPPORTED_TYPE_MESSAGE },
    });
    expect(await answer(call('application/grpc-web+json', '{}'))).toMatchObject({
      status: 400,
      json: { message: JSON_TYPE_MESSAGE },
    });
    expect(await answer(call('application/grpc-web-text', '!!!!'))).toMatchObject({
      status: 400,
      json: { message: 'invalid base64 body at byte 0' },
    });
    expect(await answer(call('application/grpc-web', Buffer.from([0, 0, 0, 1])))).toMatchObject({
      status: 400,
      json: { message: 'truncated gRPC-Web frame header at byte 0' },
    });
    expect(await answer({ method: 'GET', path: '/pkg.Svc/M' })).toMatchObject({
      status: 405,
      headers: { allow: 'POST, OPTIONS' },
    });
  });

  it('bounds the body it reads', async () => {
    const { ctx } = await access({}, call('application/grpc-web', frame('x')));
    expect(ctx.upstreamBody).not.toBeNull();
    await expect(
      access({}, call('application/grpc-web', Buffer.alloc(MAX_REQUEST_BYTES + 1))),
    ).rejects.toMatchObject({ code: 'GH_ERR_PLUGIN_BODY_TOO_LARGE' });
  });

  it('answers the preflight with POST and the asked-for headers (Kong’s list when the ask is not a list)', async () => {
    const preflight = async (asked: string | null) =>
      (
        await access(
          {},
          {
            method: 'OPTIONS',
            path: '/pkg.Svc/M',
            headers: asked === null ? [] : [['access-control-request-headers', asked]],
          },
        )
      ).out.answer;
    expect(await preflight('content-type, x-grpc-web, apikey')).toMatchObject({
      status: 200,
      text: null,
      headers: {
        'access-control-allow-methods': 'POST',
        'access-control-allow-headers': 'content-type, x-grpc-web, apikey',
      },
    });
    for (const bad of [null, 'a\r\nb', 'x;y', ''])
      expect((await preflight(bad))!.headers['access-control-allow-headers'], String(bad)).toBe(
        'content-type,x-grpc-web,x-user-agent',
      );
  });

  it('never throws on hostile configs and request heads (property)', async () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.anything()), (config) => {
        try {
          schema.validate(plugin.schema, config);
        } catch (e) {
          expect((e as Error).message.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 300 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('POST', 'OPTIONS', 'GET', 'PUT'),
        fc.string({ maxLength: 40 }),
        fc.string({ maxLength: 60 }),
        async (method, type, ask) => {
          const { out } = await access(
            {},
            {
              method,
              path: '/p.S/M',
              headers: [
                ['content-type', type],
                ['access-control-request-headers', ask],
              ],
              body: frame('x'),
            },
          );
          if (out.answer !== null) expect([200, 400, 405]).toContain(out.answer.status);
        },
      ),
      { numRuns: 200 },
    );
  });
});

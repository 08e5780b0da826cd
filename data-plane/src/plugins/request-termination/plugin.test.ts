import { describe, expect, it } from 'vitest';
import { schema } from '@gatehouse/shared';
import plugin from './plugin.js';
import { FakeContext, initPlugin, type FakeRequest } from '../acl/fixtures/fake-context.js';

async function run(config: Record<string, unknown>, req: FakeRequest = {}): Promise<FakeContext> {
  const state = initPlugin(plugin, schema.validate(plugin.schema, config).value);
  const ctx = new FakeContext(req);
  await plugin.access!(ctx, state);
  return ctx;
}

describe('request-termination', () => {
  it('answers 503 "Service unavailable" by default', async () => {
    expect((await run({})).respondedWith).toMatchObject({ status: 503, message: 'Service unavailable' });
  });

  it('answers the configured status and message', async () => {
    expect((await run({ status_code: 418, message: 'teapot' })).respondedWith).toMatchObject({
      status: 418,
      message: 'teapot',
    });
  });

  it('sends no body for a status without a default message', async () => {
    expect((await run({ status_code: 204 })).respondedWith).toMatchObject({
      status: 204,
      message: undefined,
    });
  });

  it('answers a raw body with its content_type, JSON when none is configured', async () => {
    const typed = (await run({ status_code: 200, body: '<h1>closed</h1>', content_type: 'text/html' }))
      .respondedWith!;
    expect(typed.status).toBe(200);
    expect((typed.message as unknown as Buffer).toString()).toBe('<h1>closed</h1>');
    expect(typed.headers).toEqual({ 'content-type': 'text/html' });
    const untyped = (await run({ body: '{"down":true}' })).respondedWith!;
    expect(untyped.headers).toEqual({ 'content-type': 'application/json; charset=utf-8' });
  });

  it('terminates only requests carrying the trigger header or query argument', async () => {
    expect((await run({ trigger: 'X-Debug' })).responded).toBe(false);
    expect((await run({ trigger: 'X-Debug' }, { headers: ['x-debug', '1'] })).responded).toBe(true);
    expect((await run({ trigger: 'X-Debug' }, { rawQuery: 'X-Debug=1' })).responded).toBe(true);
  });

  it('echoes the request with echo', async () => {
    const ctx = await run(
      { echo: true, status_code: 200 },
      {
        method: 'POST',
        path: '/a',
        rawQuery: 'x=1&x=2&y=3',
        host: 'api.test:8000',
        headers: ['Content-Type', 'application/json', 'X-A', '1'],
        body: Buffer.from('{"k":"v"}'),
      },
    );
    const body = ctx.respondedWith!.message as { request: unknown; matched_route: { id: string } };
    expect(ctx.respondedWith!.status).toBe(200);
    expect(body.request).toMatchObject({
      method: 'POST',
      path: '/a',
      host: 'api.test',
      port: 8000,
      query: { x: ['1', '2'], y: '3' },
      headers: { 'content-type': 'application/json', 'x-a': '1' },
      body: { k: 'v' },
      raw_body: '{"k":"v"}',
    });
    expect(body.matched_route.id).toBe('route-1');
  });

  it('refuses Kong-invalid combinations and statuses out of range', () => {
    const errs = (c: Record<string, unknown>) => schema.check(plugin.schema, c).errors;
    expect(errs({ message: 'm', body: 'b' })).toEqual({
      '@entity': ['message cannot be used with content_type or body'],
    });
    expect(errs({ content_type: 'text/plain' })).toEqual({ '@entity': ['content_type requires a body'] });
    expect(errs({ body: 'b', content_type: 'text/plain' })).toBeNull();
    expect(errs({ status_code: 600 })).not.toBeNull();
    expect(errs({ trigger: 'bad header' })).not.toBeNull();
  });
});

import { describe, expect, it } from 'vitest';
import { schema } from '@gatehouse/shared';
import plugin from './plugin.js';
import {
  initialise,
  outcome,
  pluginRequest,
  snapshotOf,
  TEST_ROUTE,
  type TestRequest,
} from '../runtime/test-support.js';

const snapshot = snapshotOf({});

async function run(config: Record<string, unknown>, req: TestRequest = {}) {
  const state = initialise(plugin, snapshot, config);
  const ctx = pluginRequest(snapshot, req);
  await plugin.access!(ctx, state);
  return outcome(ctx);
}

describe('request-termination', () => {
  it('answers 503 "Service unavailable" by default', async () => {
    expect((await run({})).answer).toMatchObject({ status: 503, json: { message: 'Service unavailable' } });
  });

  it('answers the configured status and message', async () => {
    expect((await run({ status_code: 418, message: 'teapot' })).answer).toMatchObject({
      status: 418,
      json: { message: 'teapot' },
    });
  });

  it('sends no body for a status without a default message', async () => {
    expect((await run({ status_code: 204 })).answer).toMatchObject({
      status: 204,
      text: null,
    });
  });

  it('answers a raw body with its content_type, JSON when none is configured', async () => {
    const typed = (await run({ status_code: 200, body: '<h1>closed</h1>', content_type: 'text/html' }))
      .answer!;
    expect(typed.status).toBe(200);
    expect(typed.text).toBe('<h1>closed</h1>');
    expect(typed.headers).toEqual({ 'content-type': 'text/html' });
    const untyped = (await run({ body: '{"down":true}' })).answer!;
    expect(untyped.headers).toEqual({ 'content-type': 'application/json; charset=utf-8' });
  });

  it('terminates only requests carrying the trigger header or query argument', async () => {
    expect((await run({ trigger: 'X-Debug' })).answer).toBeNull();
    expect((await run({ trigger: 'X-Debug' }, { headers: [['x-debug', '1']] })).answer).not.toBeNull();
    expect((await run({ trigger: 'X-Debug' }, { query: 'X-Debug=1' })).answer).not.toBeNull();
  });

  it('echoes the request with echo', async () => {
    const { answer } = await run(
      { echo: true, status_code: 200 },
      {
        method: 'POST',
        path: '/a',
        query: 'x=1&x=2&y=3',
        host: 'api.test:8000',
        headers: [
          ['Content-Type', 'application/json'],
          ['X-A', '1'],
        ],
        body: '{"k":"v"}',
      },
    );
    const body = answer!.json as { request: unknown; matched_route: { id: string } };
    expect(answer!.status).toBe(200);
    expect(body.request).toMatchObject({
      method: 'POST',
      path: '/a',
      host: 'api.test',
      // Kong's kong.request.get_port(): the listening port (80 in the harness), not the Host's.
      port: 80,
      query: { x: ['1', '2'], y: '3' },
      headers: { 'content-type': 'application/json', 'x-a': '1' },
      body: { k: 'v' },
      raw_body: '{"k":"v"}',
    });
    expect(body.matched_route.id).toBe(TEST_ROUTE.id);
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

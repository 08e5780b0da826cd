import { describe, expect, it } from 'vitest';
import { schema } from '@gatehouse/shared';
import plugin from './plugin.js';
import { FakeContext, initPlugin } from '../acl/fixtures/fake-context.js';

function state(config: Record<string, unknown>) {
  return initPlugin(plugin, schema.validate(plugin.schema, config).value);
}

describe('cors plugin', () => {
  it('answers a preflight with 200 and the CORS headers, skipping its response phase', () => {
    const s = state({ origins: ['http://a.test', 'http://b.test'], max_age: 600 });
    const ctx = new FakeContext({
      method: 'OPTIONS',
      headers: ['Origin', 'http://b.test', 'Access-Control-Request-Method', 'PUT'],
    });
    void plugin.access!(ctx, s);
    expect(ctx.respondedWith?.status).toBe(200);
    expect(ctx.respondedWith?.headers).toMatchObject({
      'content-length': '0',
      'Access-Control-Allow-Origin': 'http://b.test',
      'Access-Control-Max-Age': '600',
      Vary: 'Origin',
    });
    void plugin.response!(ctx, s);
    expect(ctx.responseHeaders.size).toBe(0);
  });

  it('lets a preflight through untouched with preflight_continue', () => {
    const s = state({ preflight_continue: true });
    const ctx = new FakeContext({
      method: 'OPTIONS',
      headers: ['Origin', 'http://a.test', 'Access-Control-Request-Method', 'GET'],
    });
    void plugin.access!(ctx, s);
    void plugin.response!(ctx, s);
    expect(ctx.responded).toBe(false);
    expect(ctx.responseHeaders.size).toBe(0);
  });

  it('treats an OPTIONS without Access-Control-Request-Method as a plain request', () => {
    const s = state({});
    const ctx = new FakeContext({ method: 'OPTIONS', headers: ['Origin', 'http://a.test'] });
    void plugin.access!(ctx, s);
    expect(ctx.responded).toBe(false);
  });

  it('adds CORS headers to a proxied response, appending to Vary and removing a foreign origin', () => {
    const s = state({
      origins: ['http://a.test', 'http://b.test'],
      credentials: true,
      exposed_headers: ['X-Total'],
    });
    const ctx = new FakeContext({ headers: ['Origin', 'http://a.test'] });
    ctx.response = {
      status: 200,
      header: (n) => (n.toLowerCase() === 'vary' ? 'Accept-Encoding' : undefined),
      body: null,
    };
    void plugin.response!(ctx, s);
    expect(Object.fromEntries(ctx.responseHeaders)).toEqual({
      vary: 'Accept-Encoding, Origin',
      'access-control-allow-origin': 'http://a.test',
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': 'X-Total',
    });
    const foreign = new FakeContext({ headers: ['Origin', 'http://evil.test'] });
    foreign.response = { status: 200, header: () => undefined, body: null };
    void plugin.response!(foreign, s);
    expect(foreign.responseHeaders.get('access-control-allow-origin')).toEqual([]);
  });

  it('refuses an invalid origin regex and a method it does not know', () => {
    expect(schema.check(plugin.schema, { origins: ['(x'] }).errors).toEqual({
      origins: ["'(x' is not a valid regex"],
    });
    expect(schema.check(plugin.schema, { methods: ['FOO'] }).errors).not.toBeNull();
  });
});

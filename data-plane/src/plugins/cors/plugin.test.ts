import { describe, expect, it } from 'vitest';
import { schema } from '@gatehouse/shared';
import plugin from './plugin.js';
import {
  initialise,
  outcome,
  pluginRequest,
  snapshotOf,
  upstreamResponse,
  type TestRequest,
} from '../runtime/test-support.js';

const snapshot = snapshotOf({});
const state = (config: Record<string, unknown>) => initialise(plugin, snapshot, config);
const request = (r: TestRequest) => pluginRequest(snapshot, r);

describe('cors plugin', () => {
  it('answers a preflight with 200 and the CORS headers, skipping its response phase', () => {
    const s = state({ origins: ['http://a.test', 'http://b.test'], max_age: 600 });
    const ctx = request({
      method: 'OPTIONS',
      headers: [
        ['Origin', 'http://b.test'],
        ['Access-Control-Request-Method', 'PUT'],
      ],
    });
    void plugin.access!(ctx, s);
    expect(outcome(ctx).answer?.status).toBe(200);
    expect(outcome(ctx).answer?.headers).toMatchObject({
      'content-length': '0',
      'Access-Control-Allow-Origin': 'http://b.test',
      'Access-Control-Max-Age': '600',
      Vary: 'Origin',
    });
    void plugin.response!(ctx, s);
    expect(outcome(ctx).responseHeaders).toEqual({});
  });

  it('lets a preflight through untouched with preflight_continue', () => {
    const s = state({ preflight_continue: true });
    const ctx = request({
      method: 'OPTIONS',
      headers: [
        ['Origin', 'http://a.test'],
        ['Access-Control-Request-Method', 'GET'],
      ],
    });
    void plugin.access!(ctx, s);
    void plugin.response!(ctx, s);
    expect(outcome(ctx)).toMatchObject({ answer: null, responseHeaders: {} });
  });

  it('treats an OPTIONS without Access-Control-Request-Method as a plain request', () => {
    const s = state({});
    const ctx = request({ method: 'OPTIONS', headers: [['Origin', 'http://a.test']] });
    void plugin.access!(ctx, s);
    expect(outcome(ctx).answer).toBeNull();
  });

  it('adds CORS headers to a proxied response, appending to Vary and removing a foreign origin', () => {
    const s = state({
      origins: ['http://a.test', 'http://b.test'],
      credentials: true,
      exposed_headers: ['X-Total'],
    });
    const ctx = request({ headers: [['Origin', 'http://a.test']] });
    upstreamResponse(ctx, 200, [['Vary', 'Accept-Encoding']]);
    void plugin.response!(ctx, s);
    expect(outcome(ctx).responseHeaders).toEqual({
      vary: 'Accept-Encoding, Origin',
      'access-control-allow-origin': 'http://a.test',
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': 'X-Total',
    });
    const foreign = request({ headers: [['Origin', 'http://evil.test']] });
    upstreamResponse(foreign, 200);
    void plugin.response!(foreign, s);
    expect(outcome(foreign).responseHeaders['access-control-allow-origin']).toEqual([]);
  });

  it('refuses an invalid origin regex and a method it does not know', () => {
    expect(schema.check(plugin.schema, { origins: ['(x'] }).errors).toEqual({
      origins: ["'(x' is not a valid regex"],
    });
    expect(schema.check(plugin.schema, { methods: ['FOO'] }).errors).not.toBeNull();
  });
});

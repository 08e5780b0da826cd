import { describe, expect, it } from 'vitest';
import { schema } from '@gatehouse/shared';
import plugin from './plugin.js';
import { initialise, outcome, pluginRequest, run, snapshotOf } from '../runtime/test-support.js';

describe('openid-connect', () => {
  it('requires an issuer URL', () => {
    expect(() => schema.validate(plugin.schema, {})).toThrow(/issuer: required field missing/);
    expect(() => schema.validate(plugin.schema, { issuer: 'not a url' })).toThrow(/missing host in url/);
  });

  it('answers 401 with a Bearer challenge when no token is sent', async () => {
    const snapshot = snapshotOf({});
    const state = initialise(plugin, snapshot, { issuer: 'https://idp.example' });
    const ctx = pluginRequest(snapshot);
    await run(plugin.access!(ctx, state));
    expect(outcome(ctx).answer).toMatchObject({ status: 401, headers: { 'WWW-Authenticate': 'Bearer' } });
  });

  it("answers Kong's 500 when the issuer's keys cannot be loaded", async () => {
    const snapshot = snapshotOf({});
    const state = initialise(plugin, snapshot, { issuer: 'http://127.0.0.1:1' });
    const ctx = pluginRequest(snapshot, { headers: [['Authorization', 'Bearer a.b.c']] });
    await run(plugin.access!(ctx, state));
    expect(outcome(ctx).answer).toMatchObject({
      status: 500,
      json: { message: 'An unexpected error occurred' },
    });
  });
});

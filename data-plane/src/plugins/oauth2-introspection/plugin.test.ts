import { describe, expect, it } from 'vitest';
import { schema } from '@gatehouse/shared';
import plugin from './plugin.js';
import { initialise, outcome, pluginRequest, run, snapshotOf } from '../runtime/test-support.js';

describe('oauth2-introspection', () => {
  it('requires introspection_url and authorization_value, defaults ttl to 30', () => {
    expect(() => schema.validate(plugin.schema, {})).toThrow(/introspection_url: required field missing/);
    const v = schema.validate<{ ttl: number; consumer_by: string }>(plugin.schema, {
      introspection_url: 'https://as.example/introspect',
      authorization_value: 'Basic x',
    }).value;
    expect(v.ttl).toBe(30);
    expect(v.consumer_by).toBe('username');
  });

  it('answers 401 invalid_request when the token is missing', async () => {
    const snapshot = snapshotOf({});
    const state = initialise(plugin, snapshot, {
      introspection_url: 'https://as.example/i',
      authorization_value: 'x',
    });
    const ctx = pluginRequest(snapshot);
    await run(plugin.access!(ctx, state));
    expect(outcome(ctx).answer).toMatchObject({ status: 401, json: { error: 'invalid_request' } });
  });

  it("answers Kong's 500 when the introspection endpoint cannot be reached", async () => {
    const snapshot = snapshotOf({});
    const state = initialise(plugin, snapshot, {
      introspection_url: 'http://127.0.0.1:1/introspect',
      authorization_value: 'x',
    });
    const ctx = pluginRequest(snapshot, { headers: [['Authorization', 'Bearer abc']] });
    await run(plugin.access!(ctx, state));
    expect(outcome(ctx).answer).toMatchObject({
      status: 500,
      json: { message: 'An unexpected error occurred' },
    });
  });
});

import { describe, expect, it } from 'vitest';
import plugin from './plugin.js';
import { fakeContext, initialise, run, snapshotOf } from '../runtime/test-support.js';

const snapshot = snapshotOf({
  consumers: [{ id: 'c', username: 'u', custom_id: null, tags: null, created_at: 0, updated_at: 0 }],
  keyauth_credentials: [
    { id: 'k', consumer: { id: 'c' }, key: 'secret', ttl: null, tags: null, created_at: 0 },
  ],
});

describe('key-auth handler', () => {
  it('authenticates a key found in a header among key_names', async () => {
    const state = await initialise(plugin, snapshot, { key_names: ['a', 'b'] });
    const ctx = fakeContext(snapshot, { headers: [['B', 'secret']] });
    await run(plugin.access!(ctx, state));
    expect(ctx.consumer?.id).toBe('c');
    expect(ctx.credential).toMatchObject({ id: 'k', type: 'key-auth' });
  });

  it('answers 401 with the Kong message when no key is present', async () => {
    const state = await initialise(plugin, snapshot, {});
    const ctx = fakeContext(snapshot);
    await run(plugin.access!(ctx, state));
    expect(ctx.shortCircuit).toMatchObject({ status: 401, headers: { 'WWW-Authenticate': 'Key' } });
    expect(JSON.parse(ctx.shortCircuit!.body!.toString())).toEqual({
      message: 'No API key found in request',
    });
  });

  it('skips when another plugin already authenticated and anonymous is set', async () => {
    const state = await initialise(plugin, snapshot, { anonymous: 'u' });
    const ctx = fakeContext(snapshot);
    ctx.credential = { id: 'x', type: 'jwt', identifier: null, consumerId: null };
    await run(plugin.access!(ctx, state));
    expect(ctx.responded).toBe(false);
    expect(ctx.consumer).toBeNull();
  });
});

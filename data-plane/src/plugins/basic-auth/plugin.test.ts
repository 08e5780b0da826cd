import { describe, expect, it } from 'vitest';
import { hashBasicAuthPassword } from '@gatehouse/shared';
import plugin, { parseBasic } from './plugin.js';
import { verifyPassword } from './verify.js';
import { initialise, pluginRequest, run, snapshotOf } from '../runtime/test-support.js';

describe('basic-auth', () => {
  it('parses a Basic header, passwords with colons included', () => {
    expect(parseBasic(`Basic ${Buffer.from('u:p:q').toString('base64')}`)).toEqual(['u', 'p:q']);
    expect(parseBasic('Bearer x')).toBeNull();
    expect(parseBasic(`Basic ${Buffer.from('nocolon').toString('base64')}`)).toBeNull();
  });

  it('verifies a stored scrypt hash off the event loop', async () => {
    const hash = hashBasicAuthPassword('pw');
    expect(await verifyPassword('pw', hash)).toBe(true);
    expect(await verifyPassword('px', hash)).toBe(false);
    expect(await verifyPassword('pw', 'not-a-hash')).toBe(false);
  });

  it('verifies once, then answers from the per-snapshot cache synchronously', async () => {
    const snapshot = snapshotOf({
      consumers: [{ id: 'c', username: 'u', custom_id: null, tags: null, created_at: 0, updated_at: 0 }],
      basicauth_credentials: [
        {
          id: 'b',
          consumer: { id: 'c' },
          username: 'u',
          password: hashBasicAuthPassword('pw'),
          tags: null,
          created_at: 0,
        },
      ],
    });
    const state = initialise(plugin, snapshot, {});
    const header: [string, string][] = [['Authorization', `Basic ${Buffer.from('u:pw').toString('base64')}`]];
    const first = pluginRequest(snapshot, { headers: header });
    const r1 = plugin.access!(first, state);
    expect(r1).toBeInstanceOf(Promise);
    await run(r1);
    expect(first.consumer?.id).toBe('c');
    const second = pluginRequest(snapshot, { headers: header });
    expect(plugin.access!(second, state)).toBeUndefined();
    expect(second.consumer?.id).toBe('c');
  });
});

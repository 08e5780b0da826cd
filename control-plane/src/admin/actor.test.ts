import { describe, expect, it } from 'vitest';
import { adminAccess } from './access.js';
import { actorOf } from './actor.js';

function call(policy: Parameters<typeof adminAccess>[0], headers: Record<string, string>): object {
  const req = { method: 'GET', headers: { host: '127.0.0.1:8001', ...headers } };
  const res = { vary: () => res };
  let passed = false;
  adminAccess(policy)(req as never, res as never, () => {
    passed = true;
  });
  expect(passed).toBe(true);
  return req;
}

describe('the actor of an Admin API request', () => {
  it('is the admin token actor when the configured token was presented', () => {
    const req = call(
      { token: 'a-long-enough-admin-token-1234' },
      { 'kong-admin-token': 'a-long-enough-admin-token-1234' },
    );
    expect(actorOf(req)).toEqual({ name: 'admin', kind: 'admin-token' });
  });

  it('is anonymous on a loopback Admin API without a token', () => {
    expect(actorOf(call({}, {}))).toEqual({ name: 'anonymous', kind: 'anonymous' });
  });
});

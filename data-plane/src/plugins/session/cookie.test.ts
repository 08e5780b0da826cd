import { describe, expect, it } from 'vitest';
import { deriveKey, expired, seal, unseal, type SessionData } from './cookie.js';

const key = deriveKey('a'.repeat(32));
const data: SessionData = {
  sid: 'sid',
  ct: 1_000_000,
  ro: 0,
  io: 0,
  aud: 'default',
  sub: 'alice',
  c: 'consumer-id',
  k: 'credential-id',
  ty: 'key-auth',
  i: 'credential-id',
  g: ['admins'],
};

describe('session cookie seal / unseal', () => {
  it('opens what it sealed, under the same secret and cookie name', () => {
    const value = seal(key, 'session', data)!;
    expect(value).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(unseal(key, 'session', value)).toEqual({ data });
    // Another key derived from the same secret (another data plane) opens it too.
    expect(unseal(deriveKey('a'.repeat(32)), 'session', value)).toEqual({ data });
  });

  it('never reveals the session data in clear and seals the same data differently each time (random IV)', () => {
    const a = seal(key, 'session', data)!;
    const b = seal(key, 'session', data)!;
    expect(a).not.toBe(b);
    expect(Buffer.from(a, 'base64url').toString('latin1')).not.toContain('consumer-id');
  });

  it('refuses a cookie under another secret, for another cookie name, or with any byte changed', () => {
    const value = seal(key, 'session', data)!;
    expect(unseal(deriveKey('b'.repeat(32)), 'session', value).data).toBeNull();
    expect(unseal(key, 'remember', value).data).toBeNull();
    const raw = Buffer.from(value, 'base64url');
    for (let i = 0; i < raw.length; i++) {
      const bad = Buffer.from(raw);
      bad[i]! ^= 0x01;
      expect(unseal(key, 'session', bad.toString('base64url')).data, `byte ${i}`).toBeNull();
    }
    expect(unseal(key, 'session', value.slice(0, -2)).data).toBeNull();
  });

  it('ignores garbage: not base64url, too short, too long, another version', () => {
    for (const v of ['', 'not base64!', 'AA', 'x'.repeat(5000), Buffer.alloc(64, 2).toString('base64url')])
      expect(unseal(key, 'session', v).data).toBeNull();
  });

  it('does not seal a session larger than one cookie', () => {
    expect(
      seal(key, 'session', { ...data, g: Array.from({ length: 500 }, (_, i) => `group-${i}`) }),
    ).toBeNull();
  });
});

describe('session timeouts (lua-resty-session open)', () => {
  const t = { idling: 900, rolling: 3600, absolute: 86400 };
  it('is valid within every timeout', () => {
    expect(expired(data, data.ct + 899, t)).toBeNull();
  });
  it('expires after the idling timeout from the last touch', () => {
    expect(expired(data, data.ct + 901, t)).toBe('session idling timeout exceeded');
    expect(expired({ ...data, io: 600 }, data.ct + 1200, t)).toBeNull();
  });
  it('expires after the rolling timeout from the last save, and the absolute timeout from creation', () => {
    expect(expired({ ...data, io: 3500 }, data.ct + 3601, t)).toBe('session rolling timeout exceeded');
    expect(expired({ ...data, ro: 86000, io: 0 }, data.ct + 86401, t)).toBe(
      'session absolute timeout exceeded',
    );
  });
  it('never expires on a timeout of 0', () => {
    expect(expired(data, data.ct + 10_000_000, { idling: 0, rolling: 0, absolute: 0 })).toBeNull();
  });
  it('refuses a creation time far in the future', () => {
    expect(expired(data, data.ct - 3600, t)).toBe('session creation time in the future');
  });
});

import { describe, expect, it } from 'vitest';
import { ClientIpResolver, LazyClientIp } from './client-ip.js';

const xff = (...values: string[]): string[] => values.flatMap((v) => ['X-Forwarded-For', v]);

describe('ClientIpResolver', () => {
  it('uses the socket peer when no proxy is trusted, whatever X-Forwarded-For says', () => {
    const r = new ClientIpResolver();
    expect(r.resolve('203.0.113.5', xff('1.2.3.4'))).toBe('203.0.113.5');
  });

  it('ignores a spoofed X-Forwarded-For from an untrusted peer', () => {
    const r = new ClientIpResolver(['10.0.0.0/8']);
    expect(r.resolve('203.0.113.5', xff('10.1.1.1'))).toBe('203.0.113.5');
    expect(r.resolve('203.0.113.5', xff('1.2.3.4, 10.0.0.1'))).toBe('203.0.113.5');
  });

  it('takes the rightmost untrusted address from a trusted peer', () => {
    const r = new ClientIpResolver(['10.0.0.0/8']);
    expect(r.resolve('10.0.0.2', xff('198.51.100.7'))).toBe('198.51.100.7');
    // The client made up "1.1.1.1"; 198.51.100.7 is what our trusted proxy 10.0.0.9 saw.
    expect(r.resolve('10.0.0.2', xff('1.1.1.1, 198.51.100.7, 10.0.0.9'))).toBe('198.51.100.7');
  });

  it('walks every X-Forwarded-For header in order', () => {
    const r = new ClientIpResolver(['10.0.0.0/8']);
    expect(r.resolve('10.0.0.2', xff('1.1.1.1', '198.51.100.7, 10.0.0.9'))).toBe('198.51.100.7');
    expect(r.resolve('10.0.0.2', ['x-forwarded-for', '198.51.100.7', 'X-FORWARDED-FOR', '10.0.0.3'])).toBe(
      '198.51.100.7',
    );
  });

  it('returns the leftmost address when every hop is trusted', () => {
    const r = new ClientIpResolver(['10.0.0.0/8']);
    expect(r.resolve('10.0.0.2', xff('10.0.0.7, 10.0.0.8'))).toBe('10.0.0.7');
  });

  it('stops at an entry that is not an address and keeps the last trusted hop', () => {
    const r = new ClientIpResolver(['10.0.0.0/8']);
    expect(r.resolve('10.0.0.2', xff('unknown'))).toBe('10.0.0.2');
    expect(r.resolve('10.0.0.2', xff('1.1.1.1, garbage, 10.0.0.9'))).toBe('10.0.0.9');
  });

  it('keeps the peer when a trusted peer sends no X-Forwarded-For', () => {
    const r = new ClientIpResolver(['127.0.0.1']);
    expect(r.resolve('127.0.0.1', ['Host', 'x'])).toBe('127.0.0.1');
  });

  it('handles IPv6 peers, IPv6 entries, ports and brackets', () => {
    const r = new ClientIpResolver(['::1', 'fd00::/8']);
    expect(r.resolve('::1', xff('2001:db8::7'))).toBe('2001:db8::7');
    expect(r.resolve('::1', xff('[2001:DB8::7]:443, fd00::1'))).toBe('2001:db8::7');
    expect(r.resolve('::1', xff('198.51.100.7:5555'))).toBe('198.51.100.7');
  });

  it('treats an IPv4-mapped peer as IPv4 for trust and in the result', () => {
    const r = new ClientIpResolver(['127.0.0.0/8']);
    expect(r.resolve('::ffff:127.0.0.1', xff('198.51.100.7'))).toBe('198.51.100.7');
    expect(r.resolve('::ffff:203.0.113.5', xff('198.51.100.7'))).toBe('203.0.113.5');
    expect(r.resolve('::ffff:127.0.0.1', xff('::ffff:198.51.100.8'))).toBe('198.51.100.8');
  });

  it('returns an empty string when the peer is unknown', () => {
    expect(new ClientIpResolver().resolve(undefined, [])).toBe('');
  });

  it('refuses an invalid trusted_ips entry', () => {
    expect(() => new ClientIpResolver(['10.0.0.0/40'])).toThrow(/invalid ip or cidr/);
  });
});

describe('LazyClientIp', () => {
  it('resolves once, on first use', () => {
    let calls = 0;
    const resolver = new ClientIpResolver(['10.0.0.0/8']);
    const original = resolver.resolve.bind(resolver);
    resolver.resolve = (peer, raw) => {
      calls++;
      return original(peer, raw);
    };
    const lazy = new LazyClientIp(resolver, '10.0.0.1', xff('198.51.100.7'));
    expect(calls).toBe(0);
    expect(lazy.get()).toBe('198.51.100.7');
    expect(lazy.get()).toBe('198.51.100.7');
    expect(calls).toBe(1);
  });
});

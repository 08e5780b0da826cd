import { describe, expect, it } from 'vitest';
import { canonicalIp, CidrSet, isIpOrCidr, parseCidr, parseIp } from './cidr.js';

describe('parseIp / canonicalIp', () => {
  it('accepts dotted IPv4 and rejects malformed or leading-zero quads', () => {
    expect(canonicalIp('192.168.0.1')).toBe('192.168.0.1');
    expect(canonicalIp('0.0.0.0')).toBe('0.0.0.0');
    expect(canonicalIp('255.255.255.255')).toBe('255.255.255.255');
    for (const bad of [
      '256.1.1.1',
      '1.2.3',
      '1.2.3.4.5',
      '01.2.3.4',
      '1..2.3',
      '1.2.3.4.',
      'a.b.c.d',
      '',
      ' 1.2.3.4',
    ])
      expect(parseIp(bad), bad).toBeNull();
  });

  it('accepts IPv6 in every textual form and prints RFC 5952 canonical text', () => {
    expect(canonicalIp('::1')).toBe('::1');
    expect(canonicalIp('::')).toBe('::');
    expect(canonicalIp('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(canonicalIp('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(canonicalIp('fe80::1%eth0')).toBe('fe80::1');
    expect(canonicalIp('1:2:3:4:5:6:7:8')).toBe('1:2:3:4:5:6:7:8');
    expect(canonicalIp('1::')).toBe('1::');
    expect(canonicalIp('64:ff9b::192.0.2.33')).toBe('64:ff9b::c000:221');
    for (const bad of [
      ':::',
      '1::2::3',
      '1:2:3:4:5:6:7:8:9',
      '12345::',
      ':1',
      '1:',
      'g::1',
      '::1.2.3',
      '1.2.3.4::',
    ])
      expect(parseIp(bad), bad).toBeNull();
  });

  it('treats an IPv4-mapped IPv6 address as the IPv4 address', () => {
    expect(parseIp('::ffff:10.1.2.3')).toEqual(parseIp('10.1.2.3'));
    expect(canonicalIp('::FFFF:0a01:0203')).toBe('10.1.2.3');
  });
});

describe('CidrSet', () => {
  it('matches addresses inside IPv4 blocks and single addresses', () => {
    const set = CidrSet.compile(['10.0.0.0/8', '192.168.1.7', '172.16.0.0/12']);
    expect(set.hasText('10.255.1.2')).toBe(true);
    expect(set.hasText('192.168.1.7')).toBe(true);
    expect(set.hasText('192.168.1.8')).toBe(false);
    expect(set.hasText('172.31.255.255')).toBe(true);
    expect(set.hasText('172.32.0.0')).toBe(false);
    expect(set.hasText('11.0.0.0')).toBe(false);
  });

  it('matches IPv6 blocks and never lets an IPv6 block match an IPv4 client', () => {
    const set = CidrSet.compile(['2001:db8::/32', '::/0']);
    expect(set.hasText('2001:db8:ffff::1')).toBe(true);
    expect(set.hasText('fe80::1')).toBe(true);
    expect(set.hasText('1.2.3.4')).toBe(false);
    const narrow = CidrSet.compile(['2001:db8:a::/48']);
    expect(narrow.hasText('2001:db8:a:ffff::1')).toBe(true);
    expect(narrow.hasText('2001:db8:b::1')).toBe(false);
  });

  it('matches an IPv4-mapped client against IPv4 blocks and mapped blocks against IPv4 clients', () => {
    expect(CidrSet.compile(['127.0.0.0/8']).hasText('::ffff:127.0.0.1')).toBe(true);
    expect(CidrSet.compile(['::ffff:10.0.0.0/104']).hasText('10.9.9.9')).toBe(true);
    expect(CidrSet.compile(['::ffff:10.0.0.0/104']).hasText('11.9.9.9')).toBe(false);
  });

  it('matches everything with 0.0.0.0/0 and exactly one address with /32 and /128', () => {
    expect(CidrSet.compile(['0.0.0.0/0']).hasText('203.0.113.9')).toBe(true);
    expect(CidrSet.compile(['203.0.113.9/32']).hasText('203.0.113.10')).toBe(false);
    expect(CidrSet.compile(['2001:db8::1/128']).hasText('2001:db8::1')).toBe(true);
    expect(CidrSet.compile(['2001:db8::1/128']).hasText('2001:db8::2')).toBe(false);
  });

  it('ignores host bits in a block, as Kong does', () => {
    expect(CidrSet.compile(['10.1.2.3/8']).hasText('10.200.0.1')).toBe(true);
  });

  it('refuses invalid entries naming the entry', () => {
    expect(() => CidrSet.compile(['10.0.0.0/33'])).toThrow(/10\.0\.0\.0\/33/);
    for (const bad of ['1.2.3.4/', '1.2.3.4/01', '::/129', 'example.com', '1.2.3.4/-1', 'fe80::1%eth0/64'])
      expect(isIpOrCidr(bad), bad).toBe(false);
    expect(parseCidr('::/0')).not.toBeNull();
  });

  it('an empty set matches nothing', () => {
    expect(CidrSet.compile([]).hasText('1.2.3.4')).toBe(false);
    expect(CidrSet.compile(['1.2.3.4']).hasText('not an ip')).toBe(false);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseHostsFile } from './resolver.js';
import { dnsSettings, DnsSettingsError, parseDnsServer, resolvConfServers } from './settings.js';
import { dnsNamesOf, DnsView, resolveTarget } from './view.js';

describe('dns settings (--dns-*, Kong dns_*)', () => {
  it('parses resolver addresses with Kong-style ports', () => {
    expect(parseDnsServer('127.0.0.1:5353')).toEqual({ host: '127.0.0.1', port: 5353 });
    expect(parseDnsServer('10.0.0.1')).toEqual({ host: '10.0.0.1', port: 53 });
    expect(parseDnsServer('[::1]:53')).toEqual({ host: '::1', port: 53 });
    expect(parseDnsServer('::1')).toEqual({ host: '::1', port: 53 });
    expect(() => parseDnsServer('dns.example:53')).toThrow(DnsSettingsError);
    expect(() => parseDnsServer('127.0.0.1:0')).toThrow(/dns_resolver/);
  });

  it("keeps Kong's defaults and refuses bad values naming the setting", () => {
    const s = dnsSettings({ resolver: '127.0.0.1:5353' });
    expect(s.order).toEqual(['LAST', 'SRV', 'A', 'CNAME']);
    expect([s.staleTtl, s.notFoundTtl, s.errorTtl, s.validTtl]).toEqual([3600, 30, 1, null]);
    expect(dnsSettings({ resolver: '1.1.1.1', order: 'a,aaaa', validTtl: '5' })).toMatchObject({
      order: ['A', 'AAAA'],
      validTtl: 5,
    });
    expect(() => dnsSettings({ resolver: '1.1.1.1', order: 'A,MX' })).toThrow(/dns_order: 'MX'/);
    expect(() => dnsSettings({ resolver: '1.1.1.1', staleTtl: '-1' })).toThrow(/dns_stale_ttl/);
    // a key holding undefined is absent
    expect(dnsSettings({ resolver: '1.1.1.1', errorTtl: undefined }).errorTtl).toBe(1);
  });

  it('property: any input gives settings or a DnsSettingsError, never another failure', () => {
    const text = fc.option(fc.string({ maxLength: 40 }), { nil: undefined });
    fc.assert(
      fc.property(
        fc.record({
          resolver: text,
          order: text,
          validTtl: text,
          staleTtl: text,
          notFoundTtl: text,
          errorTtl: text,
          hostsFile: text,
        }),
        (input) => {
          try {
            const s = dnsSettings({ ...input, resolver: input.resolver ?? '127.0.0.1' });
            expect(s.servers.length).toBeGreaterThan(0);
          } catch (e) {
            expect(e).toBeInstanceOf(DnsSettingsError);
          }
        },
      ),
      {
        numRuns: 500,
        examples: [
          [
            {
              resolver: ',',
              order: ',',
              validTtl: ' ',
              staleTtl: undefined,
              notFoundTtl: '1e3',
              errorTtl: '0x1',
              hostsFile: '',
            },
          ],
        ],
      },
    );
  });

  it('reads resolv.conf and hosts files', () => {
    expect(
      resolvConfServers('# x\nnameserver 10.0.0.2\nnameserver fe80::1%eth0\nnameserver bad\nsearch x'),
    ).toEqual([
      { host: '10.0.0.2', port: 53 },
      { host: 'fe80::1', port: 53 },
    ]);
    const hosts = parseHostsFile('127.0.0.1 localhost Web # c\n::1 localhost\nnot-an-ip x\n');
    expect(hosts.get('web')).toEqual({ A: ['127.0.0.1'], AAAA: [] });
    expect(hosts.get('localhost')).toEqual({ A: ['127.0.0.1'], AAAA: ['::1'] });
    expect(hosts.has('x')).toBe(false);
  });
});

describe('resolved targets (Kong targets.lua)', () => {
  const view = (records: { address: string; port: number | null; weight: number }[], srv: boolean) =>
    new DnsView({ peek: () => ({ records, srv, error: null, stale: false }) } as never);

  it('gives A records the target weight and port, SRV records their own', () => {
    const a = view(
      [
        { address: '10.0.0.1', port: null, weight: 0 },
        { address: '10.0.0.2', port: null, weight: 0 },
      ],
      false,
    );
    expect(resolveTarget(a, 'svc.test', 8080, 50)).toEqual([
      { host: '10.0.0.1', port: 8080, weight: 50 },
      { host: '10.0.0.2', port: 8080, weight: 50 },
    ]);
    const srv = view(
      [
        { address: '10.0.0.1', port: 9000, weight: 3 },
        { address: '10.0.0.2', port: null, weight: 1 },
      ],
      true,
    );
    expect(resolveTarget(srv, 'svc.test', 8080, 50)).toEqual([
      { host: '10.0.0.1', port: 9000, weight: 3 },
      { host: '10.0.0.2', port: 8080, weight: 1 },
    ]);
    expect(resolveTarget(srv, '10.1.1.1', 80, 7)).toEqual([{ host: '10.1.1.1', port: 80, weight: 7 }]);
    expect(resolveTarget(null, 'svc.test', 80, 7)).toEqual([{ host: 'svc.test', port: 80, weight: 7 }]);
  });

  it('names the hosts a config resolves: target names and service hosts that name no upstream', () => {
    expect(
      dnsNamesOf({
        upstreams: [{ name: 'Pool' }],
        targets: [{ target: 'a.test:80' }, { target: '10.0.0.1:80' }, { target: '[::1]:80' }],
        services: [
          { host: 'pool', protocol: 'http' },
          { host: 'B.test', protocol: 'https' },
          { host: 'c.test', protocol: 'tcp' },
          { host: '127.0.0.1', protocol: 'http' },
        ],
      }),
    ).toEqual(new Set(['a.test', 'b.test']));
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isGatehouseError } from '@gatehouse/shared';
import { channelOptionsFor } from './config-client.js';
import {
  controlPlaneListProblem,
  MAX_CONTROL_PLANES,
  parseControlPlanes,
  resolveControlPlanes,
} from './control-planes.js';

describe('--control-plane list', () => {
  it('takes one address or several, in order, IPv6 in brackets', () => {
    expect(parseControlPlanes('127.0.0.1:8005')).toEqual([{ host: '127.0.0.1', port: 8005 }]);
    expect(parseControlPlanes('cp-1.example.com:8005, 10.0.0.2:9005,[::1]:8005')).toEqual([
      { host: 'cp-1.example.com', port: 8005 },
      { host: '10.0.0.2', port: 9005 },
      { host: '::1', port: 8005 },
    ]);
  });

  it.each([
    ['', 'an empty address'],
    ['a:1,', 'an empty address'],
    ['127.0.0.1', 'is not host:port'],
    ['127.0.0.1:0', 'port must be 1-65535'],
    ['127.0.0.1:65536', 'port must be 1-65535'],
    ['::1:8005', 'is not host:port'],
    ['[example.com]:8005', 'is not host:port'],
    ['a_b:8005', 'is not a host name'],
    ['999.1.1.1:8005', 'is not a host name'],
    ['a:1,A:1', 'listed twice'],
    [Array.from({ length: MAX_CONTROL_PLANES + 1 }, (_, i) => `h${i}:1`).join(','), 'at most'],
  ])('refuses %j, naming the problem', (text, problem) => {
    expect(controlPlaneListProblem(text)).toEqual(expect.stringContaining(problem));
    try {
      parseControlPlanes(text);
      expect.unreachable();
    } catch (e) {
      expect(isGatehouseError(e) && e.code).toBe('GH_ERR_CONFIG_INVALID_SETTING');
      expect((e as Error).message).toContain('--control-plane');
    }
  });

  it('hostile input: a typed refusal or entries that format back to what was given', () => {
    const entry = fc.oneof(
      fc.string(),
      fc.tuple(fc.domain(), fc.integer({ min: -5, max: 70_000 })).map(([h, p]) => `${h}:${p}`),
      fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 65_536 })).map(([h, p]) => `${h}:${p}`),
      fc.tuple(fc.ipV6(), fc.nat(70_000)).map(([h, p]) => `[${h}]:${p}`),
    );
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 40 }), fc.constantFrom(',', ', ', ' ,'), (parts, sep) => {
        const text = parts.join(sep);
        let result;
        try {
          result = parseControlPlanes(text);
        } catch (e) {
          expect(isGatehouseError(e) && e.code).toBe('GH_ERR_CONFIG_INVALID_SETTING');
          return;
        }
        expect(result.length).toBe(parts.length);
        expect(result.length).toBeLessThanOrEqual(MAX_CONTROL_PLANES);
        result.forEach((e, i) => {
          expect(e.port).toBeGreaterThanOrEqual(1);
          expect(e.port).toBeLessThanOrEqual(65_535);
          const given = parts[i]!.trim();
          expect(given.endsWith(`:${e.port}`)).toBe(true);
          expect(given.includes(e.host)).toBe(true);
        });
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('control-plane targets', () => {
  const table: Record<string, string[]> = {
    'cp.fleet.test': ['10.0.0.1', '10.0.0.2', '::1'],
    'one.test': ['10.0.0.2'],
  };
  const lookup = async (host: string) => {
    const ips = table[host];
    if (!ips) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return ips;
  };

  it('dials IP literals as given and every address of a name, keeping the name as TLS server name', async () => {
    const targets = await resolveControlPlanes(
      parseControlPlanes('127.0.0.1:8005,cp.fleet.test:8005,one.test:8005,[::1]:9005'),
      lookup,
    );
    expect(targets).toEqual([
      { address: '127.0.0.1:8005' },
      { address: '10.0.0.1:8005', serverName: 'cp.fleet.test' },
      { address: '10.0.0.2:8005', serverName: 'cp.fleet.test' },
      { address: '[::1]:8005', serverName: 'cp.fleet.test' },
      // 10.0.0.2:8005 again (one.test) is dialled once.
      { address: '[::1]:9005' },
    ]);
    expect(channelOptionsFor(targets[1]!)).toEqual({ 'grpc.ssl_target_name_override': 'cp.fleet.test' });
    expect(channelOptionsFor(targets[0]!)).toEqual({});
  });

  it('keeps a name that does not resolve now (dialled by name, reported like any unreachable CP)', async () => {
    expect(await resolveControlPlanes(parseControlPlanes('gone.test:8005,127.0.0.1:1'), lookup)).toEqual([
      { address: 'gone.test:8005', serverName: 'gone.test' },
      { address: '127.0.0.1:1' },
    ]);
  });

  it('resolves localhost with the system resolver', async () => {
    const targets = await resolveControlPlanes(parseControlPlanes('localhost:8005'));
    expect(targets.length).toBeGreaterThanOrEqual(1);
    for (const t of targets) expect(t.serverName).toBe('localhost');
  });
});

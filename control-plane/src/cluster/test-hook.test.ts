import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isGatehouseError } from '@gatehouse/shared';
import { loadSnapshotHook, parseHookListen, SNAPSHOT_HOOK_ENV } from './test-hook.js';

const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return 'no error';
  } catch (e) {
    return isGatehouseError(e) ? e.code : String(e);
  }
};

describe('the test snapshot hook loader', () => {
  it('loads nothing when the variable is unset or empty', async () => {
    expect(await loadSnapshotHook({})).toBeNull();
    expect(await loadSnapshotHook({ [SNAPSHOT_HOOK_ENV]: '' })).toBeNull();
  });

  it('refuses to start a build without the hook (every production build) when the variable is set', async () => {
    // What a production build does: the module is not in dist/, so the import fails.
    const err = loadSnapshotHook({ [SNAPSHOT_HOOK_ENV]: '127.0.0.1:0' }, './no-such-snapshot-hook.js');
    await expect(err).rejects.toThrow(/compiled out of production builds/);
    expect(
      await codeOf(loadSnapshotHook({ [SNAPSHOT_HOOK_ENV]: '127.0.0.1:0' }, './no-such-snapshot-hook.js')),
    ).toBe('GH_ERR_CONFIG_INVALID_SETTING');
  });

  it('loads the hook from the sources', async () => {
    const loaded = await loadSnapshotHook({ [SNAPSHOT_HOOK_ENV]: '127.0.0.1:0' });
    expect(loaded?.listen).toEqual({ host: '127.0.0.1', port: 0 });
    expect(typeof loaded?.module.startSnapshotHook).toBe('function');
  });

  it('takes only a loopback host:port', () => {
    expect(parseHookListen('127.0.0.1:4000')).toEqual({ host: '127.0.0.1', port: 4000 });
    expect(parseHookListen('[::1]:4000')).toEqual({ host: '::1', port: 4000 });
    for (const bad of [
      '0.0.0.0:4000',
      '10.0.0.1:1',
      '127.0.0.1',
      ':4000',
      '127.0.0.1:65536',
      'example.com:80',
    ])
      expect(() => parseHookListen(bad)).toThrow(/loopback host:port/);
  });

  it('never takes anything else, whatever the variable holds', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (value) => {
        try {
          const { host, port } = parseHookListen(value);
          expect(['127.0.0.1', 'localhost', '::1']).toContain(host);
          expect(Number.isInteger(port) && port >= 0 && port <= 65535).toBe(true);
        } catch (e) {
          expect(isGatehouseError(e) && e.code === 'GH_ERR_CONFIG_INVALID_SETTING').toBe(true);
        }
      }),
    );
  });
});

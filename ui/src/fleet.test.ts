import { describe, expect, it } from 'vitest';
import { ago, byRegion, fleetCounts, syncState, syncText, type DataPlane } from './fleet';

const dp = (over: Partial<DataPlane> = {}): DataPlane => ({
  id: 'dp1',
  hostname: 'h',
  ip: '127.0.0.1',
  version: '0.1.0',
  sync_status: 'normal',
  config_hash: 'aaa',
  config_version: 3,
  last_seen: 1000,
  region: null,
  connected: true,
  last_nack_reason: null,
  ...over,
});

describe('fleet sync state', () => {
  it('is in sync at the CP version or hash, behind by the difference otherwise', () => {
    expect(syncText(syncState(dp(), { version: 3, config_hash: 'bbb' }))).toBe('in sync');
    expect(syncText(syncState(dp({ config_version: 1 }), { version: 3, config_hash: 'bbb' }))).toBe(
      'behind by 2 versions',
    );
    expect(syncText(syncState(dp({ config_version: 2 }), { version: 3, config_hash: 'aaa' }))).toBe(
      'in sync',
    );
  });

  it('shows a refusal with its reason, and a disconnected DP as such', () => {
    expect(
      syncText(
        syncState(dp({ config_version: 2, last_nack_reason: 'bad signature' }), {
          version: 3,
          config_hash: 'x',
        }),
      ),
    ).toBe('refused: bad signature');
    expect(syncState(dp({ connected: false }), { version: 3, config_hash: 'aaa' }).kind).toBe('disconnected');
  });

  it('says how long ago, and groups data planes by region', () => {
    expect(ago(1000, 1_005_000)).toBe('5 s ago');
    expect(ago(1000, (1000 + 7200) * 1000)).toBe('2 h ago');
    expect(
      byRegion([dp({ id: 'b', region: 'us' }), dp({ id: 'a', region: 'eu' }), dp({ id: 'c' })]).map(
        ([r, l]) => [r, l.length],
      ),
    ).toEqual([
      ['default', 1],
      ['eu', 1],
      ['us', 1],
    ]);
  });
});

describe('fleetCounts', () => {
  it('counts connected data planes in sync and refused; disconnected ones are left out', () => {
    const cp = { version: 3, config_hash: 'aaa' };
    const states = [
      dp(),
      dp({ config_version: 2, config_hash: 'bbb' }),
      dp({ config_version: 2, config_hash: 'bbb', last_nack_reason: 'bad' }),
      dp({ connected: false }),
    ].map((d) => syncState(d, cp));
    expect(fleetCounts(states)).toEqual({ inSync: 1, connected: 3, refused: 1 });
    expect(fleetCounts([])).toEqual({ inSync: 0, connected: 0, refused: 0 });
  });
});

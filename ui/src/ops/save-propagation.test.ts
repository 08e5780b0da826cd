import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DataPlane } from '../fleet';
import { propagationRow, sortRows, summarize } from './save-propagation';

const dp = (over: Partial<DataPlane> = {}): DataPlane => ({
  id: 'dp1',
  hostname: 'h',
  ip: '127.0.0.1',
  version: '0.1.0',
  sync_status: 'normal',
  config_hash: 'aaa',
  config_version: 5,
  last_seen: 1000,
  region: null,
  connected: true,
  last_nack_reason: null,
  ...over,
});

describe('save propagation per data plane', () => {
  it('is acked at the saved version or a later one', () => {
    expect(propagationRow(dp({ config_version: 7 }), 7, null).state).toBe('acked');
    expect(propagationRow(dp({ config_version: 9 }), 7, null).state).toBe('acked');
  });

  it('is pending below it, and flags a placed DP whose slice may be unchanged', () => {
    expect(propagationRow(dp(), 7, null)).toMatchObject({ state: 'pending', maybeUnchangedSlice: false });
    expect(propagationRow(dp({ region: 'eu' }), 7, null).maybeUnchangedSlice).toBe(true);
    expect(propagationRow(dp({ labels: { tier: 'gold' } }), 7, null).maybeUnchangedSlice).toBe(true);
  });

  it('is refused with the reason while the DP has not acked since its NACK', () => {
    const refused = dp({ sync_status: 'unknown', last_nack_reason: 'bad signature' });
    expect(propagationRow(refused, 7, null)).toMatchObject({ state: 'refused', reason: 'bad signature' });
    // an old reason after a later ack (sync_status normal) is not a refusal
    expect(propagationRow(dp({ last_nack_reason: 'old' }), 7, null).state).toBe('pending');
  });

  it('is held when a running rollout keeps the DP at its base', () => {
    const r = { id: '6c1f0000-0000', base_version: 5, target_version: 7 };
    expect(propagationRow(dp(), 7, r)).toMatchObject({ state: 'held' });
    expect(propagationRow(dp({ config_version: 3 }), 7, r).state).toBe('pending');
  });

  it('tells a DP held by the rollout from one in its waves, as the Admin API says', () => {
    const members = new Map([[dp().id, { wave: 1, in_rolled_waves: false, held: true }]]);
    const r = { id: '6c1f0000-0000', base_version: 5, target_version: 7, members };
    expect(propagationRow(dp(), 7, r)).toMatchObject({
      state: 'held',
      reason: expect.stringContaining('until its wave (2)'),
    });
    const inWave = { ...r, members: new Map([[dp().id, { wave: 0, in_rolled_waves: true, held: false }]]) };
    expect(propagationRow(dp(), 7, inWave)).toMatchObject({
      state: 'pending',
      reason: expect.stringContaining('in wave 1'),
    });
    // Members known but this DP not among them (connected since): pending, not guessed held.
    expect(propagationRow(dp(), 7, { ...r, members: new Map() }).state).toBe('pending');
    // Without the API's word the row says it cannot tell.
    const guessed = propagationRow(dp(), 7, { id: r.id, base_version: 5, target_version: 7 });
    expect(guessed.reason).toContain('did not say');
  });

  it('lists a disconnected DP apart', () => {
    expect(propagationRow(dp({ connected: false }), 7, null).state).toBe('disconnected');
  });

  it('summarizes every DP exactly once, settled when none is pending', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            config_version: fc.integer({ min: 0, max: 10 }),
            connected: fc.boolean(),
            nack: fc.boolean(),
            region: fc.option(fc.constantFrom('eu', 'us'), { nil: null }),
          }),
          { maxLength: 30 },
        ),
        fc.integer({ min: 0, max: 10 }),
        (specs, version) => {
          const rows = specs.map((s, i) =>
            propagationRow(
              dp({
                id: `dp${i}`,
                config_version: s.config_version,
                connected: s.connected,
                region: s.region,
                ...(s.nack ? { last_nack_reason: 'no', sync_status: 'unknown' } : {}),
              }),
              version,
              null,
            ),
          );
          const sum = summarize(rows);
          expect(sum.acked + sum.pending + sum.refused + sum.held + sum.disconnected).toBe(rows.length);
          expect(sum.settled).toBe(rows.every((r) => r.state !== 'pending'));
          expect(sortRows(rows)).toHaveLength(rows.length);
        },
      ),
    );
  });
});

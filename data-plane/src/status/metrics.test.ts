/** The DP primary's metrics of the oauth2 revocation list: its size and what its bound evicted. */
import { describe, expect, it } from 'vitest';
import { RevokedTokens } from '../plugins/oauth2/revoked-tokens.js';
import { DataPlaneMetrics } from './metrics.js';

const sample = async (m: DataPlaneMetrics, name: string) =>
  (await m.registry.getSingleMetric(name)!.get()).values[0]?.value;

describe('DataPlaneMetrics oauth2 revocation list', () => {
  it('counts live revocations evicted by the bound, as a counter that only grows', async () => {
    const m = new DataPlaneMetrics({ defaultMetrics: false });
    const list = new RevokedTokens(10);
    m.oauth2RevocationList = () => list;
    expect(await sample(m, 'gatehouse_dp_oauth2_revocations_evicted_total')).toBe(0);
    const exp = Math.floor(Date.now() / 1000) + 3600;
    list.add(Array.from({ length: 12 }, (_, i) => ({ jti: `j${i}`, expiresAt: exp + i })));
    expect(list.evicted).toBeGreaterThan(0);
    expect(await sample(m, 'gatehouse_dp_oauth2_revocations_evicted_total')).toBe(list.evicted);
    expect(await sample(m, 'gatehouse_dp_oauth2_revocations')).toBe(list.size);
    list.add(Array.from({ length: 12 }, (_, i) => ({ jti: `k${i}`, expiresAt: exp + i })));
    expect(await sample(m, 'gatehouse_dp_oauth2_revocations_evicted_total')).toBe(list.evicted);
    const text = await m.registry.metrics();
    expect(text).toContain(`gatehouse_dp_oauth2_revocations_evicted_total ${list.evicted}`);
  });
});

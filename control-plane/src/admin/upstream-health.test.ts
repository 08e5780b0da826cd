import { describe, expect, it } from 'vitest';
import { validateUpstream, type Target, type Upstream } from '@gatehouse/shared';
import type { DataPlaneRecord } from '../cluster/registry.js';
import { balancerHealth, targetsHealth, usesHealthchecks } from './upstream-health.js';

const upstream = (body: Record<string, unknown>): Upstream => ({
  ...validateUpstream({ name: 'u', ...body }),
  id: 'u-1',
  created_at: 1,
  updated_at: 1,
});
const checked = upstream({ healthchecks: { passive: { unhealthy: { tcp_failures: 1 } } } });
const target = (t: string, weight = 100): Target => ({
  id: `t-${t}`,
  upstream: { id: 'u-1' },
  target: t,
  weight,
  tags: null,
  created_at: 1,
  updated_at: 1,
});
const dp = (id: string, unhealthy: string[] | undefined, connected = true): DataPlaneRecord =>
  ({
    id,
    hostname: `${id}.host`,
    region: 'eu',
    connected,
    health:
      unhealthy === undefined
        ? null
        : { unhealthy_targets: unhealthy.map((t) => ({ upstream_id: 'u-1', target: t, cause: 'passive' })) },
  }) as unknown as DataPlaneRecord;

describe('fleet view of target health', () => {
  it("follows Kong's rule for HEALTHCHECKS_OFF", () => {
    expect(usesHealthchecks(upstream({}))).toBe(false);
    expect(usesHealthchecks(checked)).toBe(true);
    const [e] = targetsHealth(upstream({}), [target('a:1')], [dp('d1', ['a:1'])]);
    expect(e!.health).toBe('HEALTHCHECKS_OFF');
  });

  it('UNHEALTHY only when every reporting DP has it down; counts and per-DP causes', () => {
    const dps = [dp('d1', ['A:1']), dp('d2', []), dp('old', undefined), dp('gone', ['a:1'], false)];
    const [a, b] = targetsHealth(checked, [target('a:1'), target('b:2')], dps);
    expect(a!.health).toBe('HEALTHY');
    expect(a!.fleet).toEqual({ healthy: 1, unhealthy: 1 });
    expect(a!.data_planes.map((d) => [d.id, d.health, d.cause])).toEqual([
      ['d1', 'UNHEALTHY', 'passive'],
      ['d2', 'HEALTHY', null],
    ]);
    expect(b!.health).toBe('HEALTHY');
    const [down] = targetsHealth(checked, [target('a:1')], [dp('d1', ['a:1']), dp('d2', ['a:1'])]);
    expect(down!.health).toBe('UNHEALTHY');
    expect(down!.data.addresses).toEqual([{ ip: 'a', port: 1, health: 'UNHEALTHY', weight: 100 }]);
    const [v6] = targetsHealth(checked, [target('[::1]:9')], []);
    expect(v6!.data.addresses[0]).toMatchObject({ ip: '::1', port: 9, health: 'HEALTHY' });
  });

  it('balancer health weighs healthy targets against the threshold, per DP and for the fleet', () => {
    const up = { ...checked, healthchecks: { ...checked.healthchecks, threshold: 60 } };
    const targets = [target('a:1', 50), target('b:1', 50)];
    expect(balancerHealth(up, targets, [dp('d1', ['a:1']), dp('d2', [])])).toMatchObject({
      health: 'HEALTHY',
      data_planes: [
        { id: 'd1', health: 'UNHEALTHY' },
        { id: 'd2', health: 'HEALTHY' },
      ],
    });
    expect(balancerHealth(up, targets, [dp('d1', ['a:1'])]).health).toBe('UNHEALTHY');
    expect(balancerHealth(up, [], []).health).toBe('UNHEALTHY');
    expect(balancerHealth(upstream({}), [], []).health).toBe('HEALTHCHECKS_OFF');
  });

  it('stays bounded at fleet scale: past the limit only the DPs that see a target UNHEALTHY are listed', () => {
    const fleet = Array.from({ length: 1000 }, (_, i) =>
      dp(`d${String(i).padStart(4, '0')}`, i % 7 === 0 ? ['a:1'] : []),
    );
    const [a, b] = targetsHealth(checked, [target('a:1'), target('b:2')], fleet);
    expect(a!.fleet).toEqual({ healthy: 857, unhealthy: 143 });
    expect(a!.data_planes).toHaveLength(100);
    expect(a!.data_planes.every((d) => d.health === 'UNHEALTHY')).toBe(true);
    expect(a!.data_planes_omitted).toBe(900);
    expect(b!.fleet).toEqual({ healthy: 1000, unhealthy: 0 });
    expect(b!.data_planes).toEqual([]);
    expect(b!.data_planes_omitted).toBe(1000);
    const [few] = targetsHealth(checked, [target('a:1')], fleet.slice(0, 3));
    expect(few!.data_planes.map((d) => d.id)).toEqual(['d0000', 'd0001', 'd0002']);
    expect(few!.data_planes_omitted).toBe(0);
  });
});

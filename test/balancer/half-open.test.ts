import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { completeConfig, type Target, type Upstream } from '@gatehouse/shared';
import { upstream as upstreamFixture, target } from './fixtures.js';
import { compileUpstreams } from '../../data-plane/src/balancer/balancers.js';
import {
  balancerHalfOpenMs,
  DEFAULT_HALF_OPEN_SECONDS,
  halfOpenMs,
} from '../../data-plane/src/balancer/half-open.js';
import type { HealthCause, UpstreamBalancer } from '../../data-plane/src/balancer/upstream-balancer.js';

/** An upstream whose passive checks eject a target after one TCP failure. */
function passiveUpstream(tags: string[] | null = null, fields: Partial<Upstream> = {}): Upstream {
  const up = upstreamFixture('u1', 'svc', { tags, ...fields });
  up.healthchecks.passive.unhealthy.tcp_failures = 1;
  return up;
}

function build(up: Upstream, targets: Target[] = [target('t1', up.id, 'a:1'), target('t2', up.id, 'b:1')]) {
  let now = 1000;
  const clock = () => now;
  const config = completeConfig({ upstreams: [up], targets });
  const balancer = compileUpstreams(config, null, clock).byId.get(up.id)!;
  const changes: { target: string; healthy: boolean; cause: HealthCause }[] = [];
  balancer.onHealthChange((_u, t, healthy, cause) => changes.push({ target: t.authority, healthy, cause }));
  return {
    balancer,
    changes,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const idx = (b: UpstreamBalancer, authority: string) => b.targets.findIndex((t) => t.authority === authority);

describe('half-open retry of passively ejected targets', () => {
  it('lets one trial through after the cool-down; success brings the target back', () => {
    const { balancer, changes, advance } = build(passiveUpstream(['gatehouse:half-open=10']));
    const a = idx(balancer, 'a:1');
    balancer.reportFailure(a, 'tcp_failure');
    expect(balancer.targets[a]!.health.healthy).toBe(false);
    expect(changes).toEqual([{ target: 'a:1', healthy: false, cause: 'passive' }]);
    // During the cool-down every request goes to b.
    for (let i = 0; i < 5; i++) expect(balancer.select('', [])).not.toBe(a);
    advance(9_999);
    expect(balancer.select('', [])).not.toBe(a);
    advance(1);
    expect(balancer.select('', [])).toBe(a); // the trial
    // Only one trial until it reports.
    for (let i = 0; i < 5; i++) expect(balancer.select('', [])).not.toBe(a);
    balancer.reportStatus(a, 200);
    expect(balancer.targets[a]!.health.healthy).toBe(true);
    expect(changes.at(-1)).toEqual({ target: 'a:1', healthy: true, cause: 'passive' });
  });

  it('a failed trial restarts the cool-down', () => {
    const { balancer, advance } = build(passiveUpstream(['gatehouse:half-open=5']));
    const a = idx(balancer, 'a:1');
    balancer.reportFailure(a, 'tcp_failure');
    advance(5_000);
    expect(balancer.select('', [])).toBe(a);
    balancer.reportStatus(a, 503); // one of passive.unhealthy.http_statuses
    expect(balancer.targets[a]!.health.healthy).toBe(false);
    advance(4_999);
    expect(balancer.select('', [])).not.toBe(a);
    advance(1);
    expect(balancer.select('', [])).toBe(a);
    balancer.reportFailure(a, 'timeout');
    expect(balancer.targets[a]!.health.healthy).toBe(false);
    advance(5_000);
    expect(balancer.select('', [])).toBe(a);
  });

  it('a trial goes out even when every target is down (the upstream would answer 503)', () => {
    const up = passiveUpstream(['gatehouse:half-open=1']);
    const { balancer, advance } = build(up, [target('t1', up.id, 'a:1')]);
    balancer.reportFailure(0, 'tcp_failure');
    expect(balancer.select('', [])).toBe(-1);
    advance(1_000);
    expect(balancer.select('', [])).toBe(0);
    expect(balancer.select('', [])).toBe(-1);
  });

  it('an unanswered trial (client gone) allows the next one after another cool-down', () => {
    const { balancer, advance } = build(passiveUpstream(['gatehouse:half-open=2']));
    const a = idx(balancer, 'a:1');
    balancer.reportFailure(a, 'tcp_failure');
    advance(2_000);
    expect(balancer.select('', [])).toBe(a);
    advance(2_000);
    expect(balancer.select('', [])).toBe(a);
  });

  it('the tag 0 keeps Kong behaviour: a passive ejection is final', () => {
    const { balancer, advance } = build(passiveUpstream(['gatehouse:half-open=0']));
    const a = idx(balancer, 'a:1');
    balancer.reportFailure(a, 'tcp_failure');
    advance(10 * 86_400_000);
    for (let i = 0; i < 5; i++) expect(balancer.select('', [])).not.toBe(a);
  });

  it('targets set unhealthy by an operator or active checks get no trial', () => {
    const { balancer, advance } = build(passiveUpstream(['gatehouse:half-open=1']));
    const a = idx(balancer, 'a:1');
    balancer.setHealth('a:1', false, true, 'manual');
    advance(60_000);
    for (let i = 0; i < 5; i++) expect(balancer.select('', [])).not.toBe(a);
    expect(balancer.targets[a]!.cause).toBe('manual');
  });

  it('a passive ejection decided in another process is retried here too', () => {
    const { balancer, advance } = build(passiveUpstream(['gatehouse:half-open=3']));
    const a = idx(balancer, 'a:1');
    balancer.setHealth('a:1', false, false, 'passive');
    advance(3_000);
    expect(balancer.select('', [])).toBe(a);
  });

  it('the default cool-down applies without a tag; active probing of unhealthy targets turns it off', () => {
    expect(halfOpenMs({ tags: null })).toBe(DEFAULT_HALF_OPEN_SECONDS * 1000);
    const probed = passiveUpstream();
    probed.healthchecks.active.unhealthy.interval = 5;
    probed.healthchecks.active.unhealthy.tcp_failures = 1;
    expect(balancerHalfOpenMs(probed)).toBe(0);
    expect(balancerHalfOpenMs(passiveUpstream())).toBe(DEFAULT_HALF_OPEN_SECONDS * 1000);
  });

  it('a changed cool-down tag rebuilds the balancer (it is part of the signature)', () => {
    const up = passiveUpstream(['gatehouse:half-open=5']);
    const targets = [target('t1', up.id, 'a:1')];
    const first = compileUpstreams(completeConfig({ upstreams: [up], targets }), null);
    const changed = { ...up, tags: ['gatehouse:half-open=7'] };
    const second = compileUpstreams(completeConfig({ upstreams: [changed], targets }), first);
    expect(second.byId.get(up.id)).not.toBe(first.byId.get(up.id));
    expect(second.byId.get(up.id)!.halfOpenMs).toBe(7_000);
  });

  it('hostile tags never throw and give 0..86400 s or the default', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.string(),
            fc.string().map((s) => `gatehouse:half-open=${s}`),
          ),
        ),
        (tags) => {
          const ms = halfOpenMs({ tags });
          expect(Number.isInteger(ms)).toBe(true);
          expect(ms).toBeGreaterThanOrEqual(0);
          expect(ms).toBeLessThanOrEqual(86_400_000);
        },
      ),
    );
    expect(halfOpenMs({ tags: ['gatehouse:half-open=86401'] })).toBe(DEFAULT_HALF_OPEN_SECONDS * 1000);
    expect(halfOpenMs({ tags: ['gatehouse:half-open=-1', 'gatehouse:half-open=1e3'] })).toBe(
      DEFAULT_HALF_OPEN_SECONDS * 1000,
    );
  });
});

/**
 * Half-open retry of targets ejected by passive checks alone. Kong's passive checks never bring a
 * target back (an ejected target receives no traffic, so it can never succeed again); Gatehouse
 * lets one trial request through after a cool-down: a trial that gets a response whose status is
 * not one of `passive.unhealthy.http_statuses` brings the target back, a failed one restarts the
 * cool-down. Targets ejected by active checks (which probe them back) or by an operator stay out.
 *
 * The cool-down is an upstream-level extension carried as a tag, so Kong's `healthchecks` record
 * and Kong files stay unchanged: `gatehouse:half-open=<seconds>` (0 turns it off: Kong's
 * behaviour). Without the tag: {@link DEFAULT_HALF_OPEN_SECONDS}. See docs/load-balancing.md.
 */
import { HALF_OPEN_TAG_PREFIX } from '@gatehouse/shared/slices/scope';
import type { Upstream } from '@gatehouse/shared/config/model';
import { activeLimits, limitsActive } from './health.js';

export { HALF_OPEN_TAG_PREFIX };
export const DEFAULT_HALF_OPEN_SECONDS = 30;
/** The longest cool-down a tag may ask for (one day). */
export const MAX_HALF_OPEN_SECONDS = 86_400;

const SECONDS = /^(0|[1-9][0-9]{0,5})$/;

/**
 * The upstream's cool-down in milliseconds (0: off). The last valid tag wins; a tag whose value
 * is not whole seconds in 0..86400 is ignored (the default applies).
 */
export function halfOpenMs(upstream: Pick<Upstream, 'tags'>): number {
  let seconds = DEFAULT_HALF_OPEN_SECONDS;
  for (const tag of upstream.tags ?? []) {
    if (!tag.startsWith(HALF_OPEN_TAG_PREFIX)) continue;
    const value = tag.slice(HALF_OPEN_TAG_PREFIX.length);
    if (!SECONDS.test(value)) continue;
    const n = Number(value);
    if (n <= MAX_HALF_OPEN_SECONDS) seconds = n;
  }
  return seconds * 1000;
}

/**
 * The cool-down this upstream's balancer uses: 0 when active checks probe its unhealthy targets
 * (they bring a target back; no trial traffic is needed), else {@link halfOpenMs}.
 */
export function balancerHalfOpenMs(upstream: Pick<Upstream, 'tags' | 'healthchecks'>): number {
  const a = upstream.healthchecks.active;
  const probed =
    a.unhealthy.interval > 0 &&
    limitsActive(activeLimits(a)) &&
    (a.type === 'http' || a.type === 'https' || a.type === 'tcp');
  return probed ? 0 : halfOpenMs(upstream);
}

/** A monotonic clock in milliseconds (tests pass their own). */
export type Clock = () => number;

export const monotonicClock: Clock = () => performance.now();

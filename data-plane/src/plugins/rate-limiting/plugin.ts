/**
 * rate-limiting (Kong priority 910): counts each request in one counter per configured period
 * (second … year) of its identifier (`limit_by`) and refuses it with `error_code` /
 * `error_message` (429 "API rate limit exceeded") once a period's limit is reached, with Kong's
 * headers. Counters go through the instance's policy (ratelimit/policies.ts): the count is added
 * first and taken back when the request is refused, so concurrent requests on every worker of
 * the node admit exactly the limit (Kong reads, then adds later, and can admit more). A policy
 * that fails lets the request through (`fault_tolerant`) or answers 500.
 */
import { definePlugin, type PluginContext } from '../api.js';
import { ProxyErrorCode } from '../../proxy/errors.js';
import { respondError } from '../runtime/gateway-errors.js';
import type { CounterHit, RateLimitPolicy } from '../../ratelimit/policy.js';
import { selectPolicy } from '../../ratelimit/policies.js';
import { PERIODS, previousWindowStart, WINDOW_SECONDS, windowStart } from '../../ratelimit/windows.js';
import { decide, periodLimit, type PeriodLimit } from './decide.js';
import { identifierOf, type IdentifierRule } from './identifier.js';
import { rateLimitingSpec } from './schema.js';
import { metricStore } from '../../observe/metric-store.js';

interface State {
  readonly limits: readonly PeriodLimit[];
  /** Each period's limit, in the order of `limits` (the policy's `admit`). */
  readonly limitValues: readonly number[];
  readonly rule: IdentifierRule;
  /** `<instance id>:`, the start of every counter key of this instance. */
  readonly prefix: string;
  readonly policy: RateLimitPolicy;
  readonly sliding: boolean;
  readonly faultTolerant: boolean;
  readonly hide: boolean;
  readonly errorCode: number;
  readonly errorMessage: string;
}

function failed(ctx: PluginContext, s: State, err: unknown): void {
  if (s.faultTolerant) {
    ctx.log.error(
      { err, policy: s.policy.name },
      'rate-limiting: failed to get usage; request let through (fault_tolerant)',
    );
    return;
  }
  ctx.log.error({ err, policy: s.policy.name }, 'rate-limiting: failed to get usage');
  respondError(ctx, ProxyErrorCode.INTERNAL);
}

function hitsAt(s: State, key: string, starts: readonly number[]): CounterHit[] {
  const hits = new Array<CounterHit>(s.limits.length);
  for (let i = 0; i < hits.length; i += 1)
    hits[i] = { key, windowSeconds: s.limits[i]!.seconds, windowStart: starts[i]! };
  return hits;
}

function apply(
  ctx: PluginContext,
  s: State,
  hits: CounterHit[],
  counts: number[],
  previous: number[] | null,
  starts: number[],
  now: number,
  takeBack = true,
): void {
  const d = decide(s.limits, counts, previous, starts, now, s.hide);
  if (d.stop) {
    metricStore.countPlugin('rate-limiting', 'limited');
    // Not counted (as Kong): take the add back (`admit` kept none); nobody waits for it.
    if (takeBack)
      s.policy
        .increment(hits, -1)
        .catch((err: unknown) => ctx.log.warn({ err }, 'rate-limiting: cannot take a refused request back'));
    respondError(ctx, ProxyErrorCode.RATE_LIMITED, {
      status: s.errorCode,
      message: s.errorMessage,
      headers: d.headers,
    });
    return;
  }
  metricStore.countPlugin('rate-limiting', 'allowed');
  for (const name in d.headers) ctx.setResponseHeader(name, d.headers[name]!);
}

export default definePlugin({
  ...rateLimitingSpec,
  init(config, { instance, log }): State {
    const limits: PeriodLimit[] = [];
    for (const p of PERIODS) {
      const v = config[p];
      if (typeof v === 'number') limits.push(periodLimit(p, v, WINDOW_SECONDS[p]));
    }
    return {
      limits,
      limitValues: limits.map((l) => l.limit),
      rule: {
        limitBy: config.limit_by,
        headerName: config.header_name ?? null,
        path: config.path ?? null,
        scopeGroup: instance.consumerGroup,
      },
      prefix: `${instance.id}:`,
      policy: selectPolicy({
        policy: config.policy,
        redis: config.redis,
        syncRate: config.sync_rate,
        instanceId: instance.id,
        log,
      }),
      sliding: config.window_type === 'sliding',
      faultTolerant: config.fault_tolerant,
      hide: config.hide_client_headers,
      errorCode: config.error_code,
      errorMessage: config.error_message,
    };
  },
  access(ctx, s) {
    const now = Date.now();
    const key = s.prefix + identifierOf(ctx, s.rule);
    const starts = s.limits.map((l) => windowStart(l.period, now));
    const hits = hitsAt(s, key, starts);
    try {
      if (!s.sliding && s.policy.admit !== undefined) {
        // Admitted in this process when the policy can (in-process counters, a lease with allowance).
        const counts = s.policy.admit(hits, s.limitValues);
        if (Array.isArray(counts)) return apply(ctx, s, hits, counts, null, starts, now, false);
        return counts.then(
          (c) => apply(ctx, s, hits, c, null, starts, now, false),
          (err: unknown) => failed(ctx, s, err),
        );
      }
      if (!s.sliding) {
        return s.policy.increment(hits, 1).then(
          (counts) => apply(ctx, s, hits, counts, null, starts, now),
          (err: unknown) => failed(ctx, s, err),
        );
      }
      // Both asked in the same turn: one round trip for the `local` policy.
      const previous = hitsAt(
        s,
        key,
        s.limits.map((l, i) => previousWindowStart(l.period, starts[i]!)),
      );
      return Promise.all([s.policy.increment(hits, 1), s.policy.usage(previous)]).then(
        ([counts, prev]) => apply(ctx, s, hits, counts, prev, starts, now),
        (err: unknown) => failed(ctx, s, err),
      );
    } catch (err) {
      failed(ctx, s, err);
      return undefined;
    }
  },
});

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
import {
  CurrentWindows,
  PERIODS,
  previousWindowStart,
  WINDOW_SECONDS,
  type Windows,
} from '../../ratelimit/windows.js';
import { decide, headersOf, periodLimit, writeHeaders, type PeriodLimit } from './decide.js';
import { LimitKeys } from './identifier.js';
import { rateLimitingSpec } from './schema.js';
import { metricStore } from '../../observe/metric-store.js';

interface State {
  readonly limits: readonly PeriodLimit[];
  /** Each period's limit, in the order of `limits` (the policy's `admit`). */
  readonly limitValues: readonly number[];
  /** The windows of `limits` that hold the current time (recomputed when one rolls over). */
  readonly windows: CurrentWindows;
  /** Whose counter a request counts in (`limit_by`), as its limit key. */
  readonly keys: LimitKeys;
  readonly policy: RateLimitPolicy;
  /** Fixed windows and a policy that admits in this process (add and check in one step). */
  readonly admits: boolean;
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
  w: Windows,
  now: number,
  takeBack = true,
): void {
  const d = decide(s.limits, counts, previous, w.starts, w.ends, now);
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
      headers: s.hide ? {} : headersOf(s.limits, d),
    });
    return;
  }
  metricStore.countPlugin('rate-limiting', 'allowed');
  if (!s.hide) writeHeaders(s.limits, d, ctx);
}

export default definePlugin({
  ...rateLimitingSpec,
  init(config, { instance, log }): State {
    const limits: PeriodLimit[] = [];
    for (const p of PERIODS) {
      const v = config[p];
      if (typeof v === 'number') limits.push(periodLimit(p, v, WINDOW_SECONDS[p]));
    }
    const policy = selectPolicy({
      policy: config.policy,
      redis: config.redis,
      syncRate: config.sync_rate,
      instanceId: instance.id,
      log,
    });
    const sliding = config.window_type === 'sliding';
    return {
      limits,
      limitValues: limits.map((l) => l.limit),
      windows: new CurrentWindows(limits.map((l) => l.period)),
      keys: new LimitKeys(
        {
          limitBy: config.limit_by,
          headerName: config.header_name ?? null,
          path: config.path ?? null,
          scopeGroup: instance.consumerGroup,
        },
        instance.id,
      ),
      policy,
      admits: !sliding && policy.admit !== undefined,
      sliding,
      faultTolerant: config.fault_tolerant,
      hide: config.hide_client_headers,
      errorCode: config.error_code,
      errorMessage: config.error_message,
    };
  },
  access(ctx, s) {
    const now = Date.now();
    const windows = s.windows.at(now);
    const key = s.keys.of(ctx);
    const hits = hitsAt(s, key, windows.starts);
    try {
      if (s.admits) {
        // Admitted in this process when the policy can (in-process counters, a lease with allowance).
        const counts = s.policy.admit!(hits, s.limitValues);
        if (Array.isArray(counts)) return apply(ctx, s, hits, counts, null, windows, now, false);
        return counts.then(
          (c) => apply(ctx, s, hits, c, null, windows, now, false),
          (err: unknown) => failed(ctx, s, err),
        );
      }
      if (!s.sliding) {
        return s.policy.increment(hits, 1).then(
          (counts) => apply(ctx, s, hits, counts, null, windows, now),
          (err: unknown) => failed(ctx, s, err),
        );
      }
      // Both asked in the same turn: one round trip for the `local` policy.
      const previous = hitsAt(
        s,
        key,
        s.limits.map((l, i) => previousWindowStart(l.period, windows.starts[i]!)),
      );
      return Promise.all([s.policy.increment(hits, 1), s.policy.usage(previous)]).then(
        ([counts, prev]) => apply(ctx, s, hits, counts, prev, windows, now),
        (err: unknown) => failed(ctx, s, err),
      );
    } catch (err) {
      failed(ctx, s, err);
      return undefined;
    }
  },
});

/**
 * response-ratelimiting (Kong priority 900): limits set by the upstream. The access phase reads
 * the counters of every configured limit (one policy call) and tells the upstream what is left
 * (`X-RateLimit-Remaining-<limit>`), refusing at once with `block_on_first_violation`; the
 * response phase reads the upstream's `X-Kong-Limit: <limit>=<amount>, …` (`header_name`),
 * sets `X-RateLimit-Limit-<limit>-<period>` / `X-RateLimit-Remaining-<limit>-<period>`, removes
 * the header, and answers 429 (no body) when a limit it consumes was already used up; the log
 * phase adds the amounts. As Kong: the upstream was called before that 429.
 */
import { definePlugin, type PluginContext } from '../api.js';
import { ProxyErrorCode } from '../../proxy/errors.js';
import { respondError } from '../runtime/gateway-errors.js';
import type { CounterHit, RateLimitPolicy } from '../../ratelimit/policy.js';
import { selectPolicy } from '../../ratelimit/policies.js';
import { PERIODS, WINDOW_SECONDS, windowStart, type Period } from '../../ratelimit/windows.js';
import { identifierOf } from '../rate-limiting/identifier.js';
import { parseIncrements } from './increments.js';
import { responseRateLimitingSpec } from './schema.js';

interface LimitPeriod {
  readonly period: Period;
  readonly limit: number;
  readonly seconds: number;
  readonly limitHeader: string;
  readonly remainingHeader: string;
}

interface NamedLimit {
  readonly name: string;
  readonly periods: readonly LimitPeriod[];
  /** Sent upstream: `X-RateLimit-Remaining-<name>`. */
  readonly upstreamHeader: string;
}

/** One request's view: the counters read in access, what is left in each. */
interface Usage {
  /** Per limit, the hits of its periods (the windows of the request's start). */
  readonly hits: CounterHit[][];
  /** Per limit, per period: limit minus the count read in access. */
  readonly remaining: number[][];
  stop: boolean;
  increments: Map<string, number> | null;
}

interface State {
  readonly limits: readonly NamedLimit[];
  readonly names: ReadonlySet<string>;
  readonly headerName: string;
  readonly limitBy: 'consumer' | 'credential' | 'ip';
  readonly prefix: string;
  readonly policy: RateLimitPolicy;
  readonly faultTolerant: boolean;
  readonly block: boolean;
  readonly hide: boolean;
  readonly usage: WeakMap<PluginContext, Usage>;
}

function failed(ctx: PluginContext, s: State, err: unknown): void {
  ctx.log.error({ err, policy: s.policy.name }, 'response-ratelimiting: failed to get usage');
  if (!s.faultTolerant) respondError(ctx, ProxyErrorCode.INTERNAL);
}

function read(ctx: PluginContext, s: State, hits: CounterHit[][], values: number[]): void {
  const remaining: number[][] = [];
  let k = 0;
  for (let i = 0; i < s.limits.length; i += 1) {
    const l = s.limits[i]!;
    const left: number[] = [];
    let least = Infinity;
    for (const p of l.periods) {
      const r = p.limit - values[k++]!;
      if (s.block && r <= 0) {
        respondError(ctx, ProxyErrorCode.RATE_LIMITED, {
          message: `API rate limit exceeded for '${l.name}'`,
        });
        return;
      }
      left.push(r);
      if (r < least) least = r;
    }
    remaining.push(left);
    ctx.setUpstreamHeader(l.upstreamHeader, String(least));
  }
  s.usage.set(ctx, { hits, remaining, stop: false, increments: null });
}

export default definePlugin({
  ...responseRateLimitingSpec,
  init(config, { instance, log }): State {
    const limits: NamedLimit[] = [];
    for (const [name, periods] of Object.entries(config.limits)) {
      const list: LimitPeriod[] = [];
      const values = periods as Partial<Record<Period, number | null>>;
      for (const p of PERIODS) {
        const v = values[p];
        if (typeof v === 'number')
          list.push({
            period: p,
            limit: v,
            seconds: WINDOW_SECONDS[p],
            limitHeader: `X-RateLimit-Limit-${name}-${p}`,
            remainingHeader: `X-RateLimit-Remaining-${name}-${p}`,
          });
      }
      limits.push({ name, periods: list, upstreamHeader: `X-RateLimit-Remaining-${name}` });
    }
    return {
      limits,
      names: new Set(limits.map((l) => l.name)),
      headerName: config.header_name,
      limitBy: config.limit_by,
      prefix: `${instance.id}:`,
      policy: selectPolicy({
        policy: config.policy,
        redis: config.redis,
        syncRate: null,
        instanceId: instance.id,
        log,
      }),
      faultTolerant: config.fault_tolerant,
      block: config.block_on_first_violation,
      hide: config.hide_client_headers,
      usage: new WeakMap(),
    };
  },
  access(ctx, s) {
    const now = Date.now();
    const id = identifierOf(ctx, { limitBy: s.limitBy, headerName: null, path: null, scopeGroup: null });
    const hits: CounterHit[][] = s.limits.map((l) => {
      const key = `${s.prefix}${l.name}:${id}`;
      return l.periods.map((p) => ({
        key,
        windowSeconds: p.seconds,
        windowStart: windowStart(p.period, now),
      }));
    });
    try {
      return s.policy.usage(hits.flat()).then(
        (values) => read(ctx, s, hits, values),
        (err: unknown) => failed(ctx, s, err),
      );
    } catch (err) {
      failed(ctx, s, err);
      return undefined;
    }
  },
  response(ctx, s) {
    const usage = s.usage.get(ctx);
    if (usage === undefined || ctx.response === null) return;
    const increments = parseIncrements(ctx.response.headerValues(s.headerName), s.names);
    usage.increments = increments;
    let stop = false;
    for (let i = 0; i < s.limits.length; i += 1) {
      const l = s.limits[i]!;
      const inc = increments.get(l.name);
      for (let j = 0; j < l.periods.length; j += 1) {
        const p = l.periods[j]!;
        const left = usage.remaining[i]![j]!;
        if (!s.hide) {
          ctx.setResponseHeader(p.limitHeader, String(p.limit));
          ctx.setResponseHeader(p.remainingHeader, String(Math.max(0, left - (inc ?? 0))));
        }
        if (inc !== undefined && inc > 0 && left <= 0) stop = true;
      }
    }
    ctx.removeResponseHeader(s.headerName);
    if (stop) {
      usage.stop = true;
      ctx.respond(429);
    }
  },
  log(ctx, s) {
    const usage = s.usage.get(ctx);
    if (usage === undefined || usage.stop || usage.increments === null) return;
    s.usage.delete(ctx);
    const calls: Promise<number[]>[] = [];
    for (let i = 0; i < s.limits.length; i += 1) {
      const inc = usage.increments.get(s.limits[i]!.name);
      if (inc !== undefined && inc !== 0) calls.push(s.policy.increment(usage.hits[i]!, inc));
    }
    if (calls.length === 0) return;
    return Promise.all(calls).then(
      () => undefined,
      (err: unknown) => ctx.log.error({ err }, 'response-ratelimiting: cannot add the usage'),
    );
  },
});

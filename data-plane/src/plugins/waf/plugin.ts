/**
 * waf (ours, priority 2200; Kong OSS has no WAF): scores each request with CRS-style rules
 * (SQL injection, XSS, path traversal, command injection, protocol anomalies) over the path, the
 * query, the headers, the cookies and a bounded body, and refuses it with 403 "Forbidden" in
 * block mode once the inbound anomaly score reaches `anomaly_threshold`; detect mode only logs
 * and counts. Decisions are logged with rule ids, locations, score and a short excerpt, and
 * counted in `gatehouse_plugin_outcomes_total{plugin="waf"}`. See docs/waf.md.
 */
import { definePlugin, type PluginContext } from '../api.js';
import { ProxyErrorCode } from '../../proxy/errors.js';
import { metricStore } from '../../observe/metric-store.js';
import { respondError } from '../runtime/gateway-errors.js';
import { WafEngine, type Verdict } from './engine.js';
import { wafSpec, type WafConfig } from './schema.js';

interface State {
  readonly engine: WafEngine;
  readonly block: boolean;
  readonly maxBody: number;
  readonly rejectOversize: boolean;
}

const DIGITS = /^\s*\d+\s*$/;

function decide(ctx: PluginContext, state: State, v: Verdict): void {
  if (v.score < state.engine.threshold) {
    if (v.matches.length > 0)
      ctx.log.debug({ waf: { score: v.score, matches: v.matches } }, 'waf: below threshold');
    metricStore.countPlugin('waf', 'passed');
    return;
  }
  const action = state.block ? 'blocked' : 'detected';
  ctx.log.warn(
    { waf: { action, score: v.score, threshold: state.engine.threshold, matches: v.matches } },
    `waf: request ${action}`,
  );
  metricStore.countPlugin('waf', action);
  if (state.block) respondError(ctx, ProxyErrorCode.WAF_BLOCKED);
}

function skipBody(ctx: PluginContext, v: Verdict, reason: string): void {
  ctx.log.info({ waf: { score: v.score, body: reason } }, 'waf: body not inspected');
  metricStore.countPlugin('waf', 'body_skipped');
}

async function inspectBody(
  ctx: PluginContext,
  state: State,
  v: Verdict,
  length: number | null,
): Promise<void> {
  const body = await ctx.request.body(state.maxBody);
  if (body.length > 0 || length !== 0)
    state.engine.inspectBody(v, {
      contentType: ctx.request.header('content-type') ?? '',
      text: body.toString('utf8'),
    });
  decide(ctx, state, v);
}

export default definePlugin({
  ...wafSpec,
  init(config: WafConfig): State {
    return {
      engine: new WafEngine(config),
      block: config.mode === 'block',
      maxBody: config.max_body_size,
      rejectOversize: config.body_limit_action === 'reject',
    };
  },
  access(ctx, state) {
    const r = ctx.request;
    const v = state.engine.inspectHead({
      method: r.method,
      rawPath: r.rawPath,
      rawQuery: r.rawQuery,
      query: r.query,
      headers: r.headers(),
    });
    if ((state.block && v.score >= state.engine.threshold) || state.maxBody === 0)
      return decide(ctx, state, v);
    const cl = r.header('content-length');
    const chunked = r.header('transfer-encoding') !== undefined;
    if (cl === undefined && !chunked) return decide(ctx, state, v);
    const length = cl !== undefined && DIGITS.test(cl) ? Number(cl) : null;
    if (length === 0) return decide(ctx, state, v);
    if (length !== null && length > state.maxBody) {
      if (state.block && state.rejectOversize) {
        metricStore.countPlugin('waf', 'body_rejected');
        respondError(ctx, ProxyErrorCode.BODY_TOO_LARGE);
        return;
      }
      skipBody(ctx, v, `content-length ${length} over max_body_size`);
      return decide(ctx, state, v);
    }
    // A chunked body: read up to the bound (the runtime answers 413 past it) in block mode with
    // 'reject'; otherwise it cannot be read without risking that 413, so it passes uninspected.
    if (length === null && !(state.block && state.rejectOversize)) {
      skipBody(ctx, v, 'no content-length');
      return decide(ctx, state, v);
    }
    return inspectBody(ctx, state, v, length);
  },
});

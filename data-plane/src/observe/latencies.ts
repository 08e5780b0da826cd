/**
 * The three latencies of a finished request, derived from its timings in one place (metrics, the
 * prometheus plugin, logs): total, upstream (Kong's `latencies.proxy`) and gateway-added (Kong's
 * `latencies.kong`). Milliseconds; -1 when the request never reached that point.
 */
import type { RequestTimings } from '../proxy/request.js';

/** From the parsed request head to the closed response. */
export function totalMs(t: RequestTimings): number {
  return t.endedAt < 0 ? -1 : t.endedAt - t.startedAt;
}

/** From the hand-off to the upstream to its response head; -1 when no upstream answered. */
export function upstreamMs(t: RequestTimings): number {
  return t.upstreamHeadersAt < 0 || t.upstreamStartedAt < 0 ? -1 : t.upstreamHeadersAt - t.upstreamStartedAt;
}

/**
 * What the gateway added before the request went upstream (routing, plugins); the whole total
 * when the gateway answered itself (no route, a plugin's answer, an upstream failure).
 */
export function gatewayMs(t: RequestTimings): number {
  if (t.upstreamStartedAt >= 0 && t.upstreamHeadersAt >= 0) return t.upstreamStartedAt - t.startedAt;
  return totalMs(t);
}

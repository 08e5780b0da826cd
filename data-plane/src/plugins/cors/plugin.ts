/**
 * cors (Kong priority 2000, before authentication): answers preflights itself with 200 and the
 * Access-Control-* headers, without calling the upstream (unless preflight_continue, then the
 * preflight is proxied and gets no CORS header from us), and adds Access-Control-Allow-Origin /
 * -Credentials / -Expose-Headers and Vary to every other response, short-circuits included.
 */
import type { PluginContext } from '../api.js';
import { definePlugin } from '../api.js';
import { compileCors, isPreflight, preflightHeaders, responseHeaders, type CorsRequest } from './origins.js';
import { corsSpec } from './schema.js';

/** Requests whose preflight was handled (or delegated): the response phase adds nothing. */
const skipResponse = new WeakSet<PluginContext>();

function corsRequest(ctx: PluginContext): CorsRequest {
  const r = ctx.request;
  return {
    method: r.method,
    origin: r.header('origin'),
    requestMethod: r.header('access-control-request-method'),
    requestHeaders: r.header('access-control-request-headers'),
    requestPrivateNetwork: r.header('access-control-request-private-network'),
  };
}

function hasToken(list: string, token: string): boolean {
  const t = token.toLowerCase();
  return list.split(',').some((v) => v.trim().toLowerCase() === t);
}

export default definePlugin({
  ...corsSpec,
  init(config) {
    return compileCors(config);
  },
  access(ctx, cors) {
    if (ctx.request.method !== 'OPTIONS') return;
    const req = corsRequest(ctx);
    if (!isPreflight(req)) return;
    skipResponse.add(ctx);
    if (cors.config.preflight_continue) return;
    const headers: Record<string, string> = { 'content-length': '0' };
    for (const op of preflightHeaders(cors, req)) if (op.op !== 'remove') headers[op.name] = op.value;
    ctx.respond(200, undefined, headers);
  },
  response(ctx, cors) {
    if (skipResponse.has(ctx)) return;
    for (const op of responseHeaders(cors, ctx.request.header('origin'))) {
      if (op.op === 'set') ctx.setResponseHeader(op.name, op.value);
      // An empty value list removes the header (the upstream's, when it sent one).
      else if (op.op === 'remove') ctx.setResponseHeader(op.name, []);
      else {
        const existing = ctx.response?.header(op.name);
        if (existing === undefined || existing === '') ctx.setResponseHeader(op.name, op.value);
        else if (!hasToken(existing, op.value)) ctx.setResponseHeader(op.name, `${existing}, ${op.value}`);
      }
    }
  },
});

/**
 * request-termination (Kong priority 2): answers every request (or, with `trigger`, every request
 * carrying that header or query argument) with status_code and {"message": …} — Kong's default
 * message for the status when none is configured — without calling the upstream. `body` (with
 * `content_type`, default JSON as in Kong) is sent as it is instead; `echo` sends the request
 * back as JSON (a debugging aid, as Kong).
 */
import { hostname } from 'node:os';
import { definePlugin, type PluginContext } from '../api.js';
import { headerByConfiguredName } from '../runtime/kong-headers.js';
import { requestTerminationSpec } from './schema.js';

/**
 * Kong's messages for statuses without a configured message: request-termination's own list
 * (kong/plugins/request-termination/handler.lua), not the gateway's error table (its 502 and 503
 * differ), so it is kept as Kong writes it.
 */
export const DEFAULT_MESSAGES: Readonly<Record<number, string>> = {
  401: 'Unauthorized',
  404: 'Not found',
  405: 'Method not allowed',
  500: 'An unexpected error occurred',
  502: 'Bad Gateway',
  503: 'Service unavailable',
};

/** Kong's content_type for a raw `body` configured without one. */
export const DEFAULT_CONTENT_TYPE = 'application/json; charset=utf-8';

interface State {
  readonly status: number;
  readonly message: string | undefined;
  /** The raw body and its headers, or null (a message is sent). */
  readonly raw: { readonly body: Buffer; readonly headers: Record<string, string> } | null;
  readonly echo: boolean;
  readonly trigger: string | null;
}

/** Kong: the trigger names a header (nginx's lookup, `_` also finds `-`) or a query argument. */
function triggered(ctx: PluginContext, trigger: string): boolean {
  return headerByConfiguredName(ctx.request, trigger).values.length > 0 || ctx.request.query.has(trigger);
}

function parsedBody(contentType: string | undefined, raw: Buffer): unknown {
  if (raw.length === 0 || contentType === undefined) return null;
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  try {
    if (type === 'application/json' || type.endsWith('+json'))
      return JSON.parse(raw.toString('utf8')) as unknown;
    if (type === 'application/x-www-form-urlencoded')
      return Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
  } catch {
    return null;
  }
  return null;
}

async function echo(ctx: PluginContext, state: State): Promise<void> {
  const r = ctx.request;
  const raw = await r.body();
  const host = r.host === undefined ? null : r.host.replace(/:\d+$/, '');
  const headers: Record<string, string | string[]> = {};
  for (const [name, values] of Object.entries(r.headers()))
    headers[name] = values.length === 1 ? values[0]! : values;
  const query: Record<string, string | string[]> = {};
  for (const key of new Set(r.query.keys())) {
    const values = r.query.getAll(key);
    query[key] = values.length === 1 ? values[0]! : values;
  }
  ctx.respond(state.status, {
    message: state.message ?? null,
    kong: { worker_pid: process.pid, hostname: hostname() },
    request: {
      scheme: r.scheme,
      host,
      // Kong's kong.request.get_port(): the listening port, whatever the Host header says.
      port: r.port,
      headers,
      query,
      body: parsedBody(r.header('content-type'), raw),
      raw_body: raw.toString('utf8'),
      method: r.method,
      path: r.path,
    },
    matched_route: ctx.route,
    matched_service: ctx.service,
  });
}

export default definePlugin({
  ...requestTerminationSpec,
  init(config): State {
    return {
      status: config.status_code,
      message: config.message ?? DEFAULT_MESSAGES[config.status_code],
      raw:
        config.body === null
          ? null
          : {
              body: Buffer.from(config.body, 'utf8'),
              headers: { 'content-type': config.content_type ?? DEFAULT_CONTENT_TYPE },
            },
      echo: config.echo,
      trigger: config.trigger,
    };
  },
  access(ctx, state) {
    if (state.trigger !== null && !triggered(ctx, state.trigger)) return;
    if (state.echo) return echo(ctx, state);
    if (state.raw !== null) ctx.respond(state.status, state.raw.body, state.raw.headers);
    else ctx.respond(state.status, state.message);
  },
});

/**
 * Kong's log entry (`kong.log.serialize()`, kong/pdk/log.lua): the JSON object the log plugins
 * (http-log, file-log, tcp-log, udp-log, syslog) send for each request, in Kong's shape so that
 * whatever reads Kong's logs reads ours. Built in the log phase, after the response was sent.
 *
 * Differences from Kong: the values of a header or query argument an auth plugin read a credential
 * from (key-auth's key, a token in the query) are `REDACTED`, as Kong does for Authorization only
 * (Kong/kong#4366); `tries` is absent (the balancer keeps no per-try record yet),
 * `request.tls` is absent, `workspace` is absent, and `custom_fields_by_lua` is not supported.
 */
import type { Consumer, Route, Service } from '@gatehouse/shared';
import type { PluginRequest } from '../plugins/runtime/context.js';
import { redactCredentials } from './access-log-line.js';
import { exchangeFacts } from './exchange-facts.js';
import { countedStatus } from '../proxy/grpc.js';

/** Request headers Kong always replaces with "REDACTED" in a log entry. */
const REDACTED_HEADERS: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization']);

export interface LogEntry {
  request: {
    id: string;
    uri: string;
    url: string;
    querystring: Record<string, string | string[] | true>;
    method: string;
    headers: Record<string, string | string[]>;
    size: number;
  };
  upstream_uri: string;
  upstream_status: string;
  response: { status: number; headers: Record<string, string | string[]>; size: number };
  latencies: { kong: number; proxy: number; request: number; receive: number };
  authenticated_entity?: { id: string; consumer_id: string | null };
  route: Route;
  service?: Service;
  consumer?: Consumer;
  client_ip: string;
  started_at: number;
  source: 'upstream' | 'kong';
}

function collapse(values: string[]): string | string[] {
  return values.length === 1 ? values[0]! : values;
}

/** Kong's `kong.request.get_query()`: a bare key is `true`, a repeated key an array. */
function queryTable(raw: string): Record<string, string | string[] | true> {
  const out: Record<string, string | string[] | true> = {};
  if (raw === '') return out;
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = safeDecode(eq < 0 ? part : part.slice(0, eq));
    const value: string | true = eq < 0 ? true : safeDecode(part.slice(eq + 1));
    const prev = out[key];
    if (prev === undefined) out[key] = value;
    else if (Array.isArray(prev)) prev.push(String(value));
    else out[key] = [String(prev), String(value)];
  }
  return out;
}

/** The query table with the values of the arguments an auth plugin read a credential from as `REDACTED`. */
function redactQuery(
  table: Record<string, string | string[] | true>,
  credentials: ReadonlySet<string> | null,
): Record<string, string | string[] | true> {
  if (credentials === null) return table;
  for (const name of credentials) if (Object.hasOwn(table, name)) table[name] = 'REDACTED';
  return table;
}

/** `uri` with its query's credential arguments as `[REDACTED]` (the access log's redaction). */
function redactUri(uri: string, credentials: ReadonlySet<string> | null): string {
  const q = uri.indexOf('?');
  return q < 0 || credentials === null
    ? uri
    : uri.slice(0, q + 1) + redactCredentials(uri.slice(q + 1), credentials);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replaceAll('+', ' '));
  } catch {
    return s;
  }
}

/** The entry for the request of `ctx` (call in the log phase). */
export function serializeLog(ctx: PluginRequest): LogEntry {
  const request = ctx.proxied;
  const facts = exchangeFacts(request);
  const headers: Record<string, string | string[]> = {};
  const all = ctx.headers();
  const credentials = request.credentialHeaders;
  const credentialArgs = request.credentialQueryArgs;
  for (const name of Object.keys(all))
    headers[name] =
      REDACTED_HEADERS.has(name) || credentials?.has(name) === true ? 'REDACTED' : collapse(all[name]!);
  const responseHeaders: Record<string, string | string[]> = {};
  const response = ctx.response;
  if (response !== null) {
    for (const [name, value] of response.headerPairs()) {
      const key = name.toLowerCase();
      const prev = responseHeaders[key];
      responseHeaders[key] =
        prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
    }
  }
  const status = response?.status ?? countedStatus(request);
  const proxied = request.upstreamHeadersAt >= 0 && !ctx.responded;
  const host = request.host ?? '';
  const entry: LogEntry = {
    request: {
      id: facts.id,
      uri: redactUri(request.url, credentialArgs),
      url: `${request.scheme}://${host.includes(':') ? host : `${host}:${request.forwardedPort}`}${redactUri(request.url, credentialArgs)}`,
      querystring: redactQuery(queryTable(request.rawQuery), credentialArgs),
      method: request.method,
      headers,
      size: facts.requestBytes,
    },
    upstream_uri: redactUri(request.upstreamUri, credentialArgs),
    upstream_status: proxied ? String(status) : '',
    response: { status, headers: responseHeaders, size: facts.responseBytes },
    latencies: {
      kong: Math.round(facts.gatewayMs),
      proxy: facts.upstreamMs < 0 ? -1 : Math.round(facts.upstreamMs),
      request: Math.round(facts.totalMs),
      receive: 0,
    },
    route: ctx.route,
    client_ip: request.clientIp,
    started_at: facts.startedAt,
    source: proxied ? 'upstream' : 'kong',
  };
  if (ctx.service !== null) entry.service = ctx.service;
  if (ctx.consumer !== null) entry.consumer = ctx.consumer;
  if (ctx.credential !== null)
    entry.authenticated_entity = { id: ctx.credential.id, consumer_id: ctx.credential.consumerId };
  return entry;
}

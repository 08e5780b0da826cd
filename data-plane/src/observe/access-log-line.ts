/**
 * One access log line, built by hand: a fixed list of fields written into one string with no
 * intermediate object and no serializer, redaction compiled once into per-field flags. Strings are
 * escaped as JSON requires (control characters, quotes, backslashes, lone surrogates) by a
 * one-regex check that hands the rare string needing it to JSON.stringify.
 */
import type { ProxyRequest } from '../proxy/request.js';
import { exchangeFacts } from './exchange-facts.js';
import { countedStatus } from '../proxy/grpc.js';

/** The fields of an access log line, in order: the one list `--access-log-redact` is checked against. */
export const ACCESS_LOG_FIELDS = [
  'method',
  'path',
  'query',
  'host',
  'route',
  'service',
  'consumer',
  'status',
  'latencies',
  'request_bytes',
  'response_bytes',
  'client_ip',
  'trace_id',
  'request_id',
  'correlation_id',
] as const;
export type AccessLogField = (typeof ACCESS_LOG_FIELDS)[number];

/** The members of `latencies` (milliseconds; Kong's `latencies.request/kong/proxy`). */
export const LATENCY_FIELDS = ['request', 'kong', 'proxy'] as const;
type LatencyField = (typeof LATENCY_FIELDS)[number];

/** What a redacted field is written as. */
export const CENSOR = '[REDACTED]';
const CENSORED = `"${CENSOR}"`;

/**
 * `rawQuery` with the value of every argument named in `names` (as the client spelled it, or
 * percent-decoded) written as `[REDACTED]`: the credentials an auth plugin read from the query
 * never reach the log (Kong/kong#4366: with key_in_query the key stayed in the access log).
 */
export function redactCredentials(rawQuery: string, names: ReadonlySet<string> | null | undefined): string {
  if (names == null || names.size === 0 || rawQuery === '') return rawQuery;
  return rawQuery
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const rawName = eq < 0 ? pair : pair.slice(0, eq);
      let name = rawName;
      try {
        name = decodeURIComponent(rawName.replaceAll('+', ' '));
      } catch {
        // a malformed escape: compared as sent
      }
      return names.has(name) || names.has(rawName) ? `${rawName}=${CENSOR}` : pair;
    })
    .join('&');
}

/** Why `redact` can't be used (an unknown field or path), or null. */
export function redactProblem(redact: readonly string[]): string | null {
  for (const path of redact) {
    const dot = path.indexOf('.');
    const top = dot < 0 ? path : path.slice(0, dot);
    if (!(ACCESS_LOG_FIELDS as readonly string[]).includes(top))
      return `unknown field '${path}'; the fields are ${ACCESS_LOG_FIELDS.join(', ')}`;
    if (
      dot >= 0 &&
      (top !== 'latencies' || !(LATENCY_FIELDS as readonly string[]).includes(path.slice(dot + 1)))
    )
      return `invalid field path '${path}': only latencies has members (${LATENCY_FIELDS.map((f) => `latencies.${f}`).join(', ')})`;
  }
  return null;
}

// eslint-disable-next-line no-control-regex -- control characters are what must be escaped
const NEEDS_ESCAPE = /[\u0000-\u001f"\\\ud800-\udfff]/;

/** `s` as a JSON string literal. */
export function jsonString(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

const jsonOrNull = (s: string | null | undefined): string => (s == null ? 'null' : jsonString(s));

/** Formats lines for one redaction setting (compiled once). */
export class AccessLogFormat {
  private readonly hidden: Readonly<Record<AccessLogField, boolean>>;
  private readonly hiddenLatency: Readonly<Record<LatencyField, boolean>>;

  /** `redact` must pass `redactProblem`. */
  constructor(redact: readonly string[] = []) {
    const set = new Set(redact);
    this.hidden = Object.fromEntries(ACCESS_LOG_FIELDS.map((f) => [f, set.has(f)])) as Record<
      AccessLogField,
      boolean
    >;
    this.hiddenLatency = Object.fromEntries(
      LATENCY_FIELDS.map((f) => [f, set.has(`latencies.${f}`)]),
    ) as Record<LatencyField, boolean>;
  }

  /** The line of an ended request (with its newline); `time` is an ISO timestamp. */
  line(request: ProxyRequest, time: string): string {
    const h = this.hidden;
    const facts = exchangeFacts(request);
    const entry = request.entry;
    const route = entry === null ? null : entry.route;
    const service = entry === null ? null : entry.service;
    let latencies: string;
    if (h.latencies) latencies = CENSORED;
    else {
      const l = this.hiddenLatency;
      latencies =
        `{"request":${l.request ? CENSORED : facts.totalMs}` +
        `,"kong":${l.kong ? CENSORED : facts.gatewayMs}` +
        `,"proxy":${l.proxy ? CENSORED : facts.upstreamMs}}`;
    }
    return (
      `{"level":"info","time":"${time}"` +
      `,"method":${h.method ? CENSORED : jsonString(request.method)}` +
      `,"path":${h.path ? CENSORED : jsonString(request.rawPath)}` +
      `,"query":${h.query ? CENSORED : jsonString(redactCredentials(request.rawQuery, request.credentialQueryArgs))}` +
      `,"host":${h.host ? CENSORED : jsonOrNull(request.host)}` +
      `,"route":${h.route ? CENSORED : route === null ? 'null' : jsonString(route.name ?? route.id)}` +
      `,"service":${h.service ? CENSORED : service === null ? 'null' : jsonString(service.name ?? service.id)}` +
      `,"consumer":${h.consumer ? CENSORED : jsonOrNull(request.consumerId)}` +
      `,"status":${h.status ? CENSORED : countedStatus(request)}` +
      `,"latencies":${latencies}` +
      `,"request_bytes":${h.request_bytes ? CENSORED : facts.requestBytes}` +
      `,"response_bytes":${h.response_bytes ? CENSORED : facts.responseBytes}` +
      `,"client_ip":${h.client_ip ? CENSORED : jsonString(request.clientIp)}` +
      `,"trace_id":${h.trace_id ? CENSORED : jsonOrNull(facts.traceId)}` +
      `,"request_id":${h.request_id ? CENSORED : jsonString(facts.id)}` +
      `,"correlation_id":${h.correlation_id ? CENSORED : jsonOrNull(facts.correlationId)}}\n`
    );
  }
}

/**
 * One access log line, built by hand: the configured fields (`--access-log-fields`, default every
 * field) written as UTF-8 bytes into a reused buffer (json-line.ts), with no intermediate object,
 * no serializer and no string per field. The field list and the redaction are compiled once into a
 * list of constant parts (keys, pre-escaped, as bytes; redacted values) and value codes, so a line
 * is one loop of byte writes. Strings are escaped as JSON requires (control characters, quotes,
 * backslashes, lone surrogates) only when they need it; ids known to be hex are not scanned.
 * The request's shared facts (exchange-facts.ts: its ids) are computed only when a written field
 * needs them.
 */
import type { ProxyRequest } from '../proxy/request.js';
import { exchangeFacts, type ExchangeFacts } from './exchange-facts.js';
import { gatewayMs, totalMs, upstreamMs } from './latencies.js';
import { asciiBytes, Constant, JsonLine } from './json-line.js';
import { countedStatus } from '../proxy/grpc.js';

/**
 * The fields of an access log line, in order: the one list `--access-log-fields` and
 * `--access-log-redact` are checked against (after `level` and `time`, which every line has).
 */
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

const NULL = asciiBytes('null');
const QUOTE = asciiBytes('"');
const LINE_START = new Constant('{"level":"info","time":"');

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

/** Why `path` names no field of the line (a top-level field, or `latencies.<member>`), or null. */
function pathProblem(path: string): string | null {
  const dot = path.indexOf('.');
  const top = dot < 0 ? path : path.slice(0, dot);
  if (!(ACCESS_LOG_FIELDS as readonly string[]).includes(top))
    return `unknown field '${path}'; the fields are ${ACCESS_LOG_FIELDS.join(', ')}`;
  if (
    dot >= 0 &&
    (top !== 'latencies' || !(LATENCY_FIELDS as readonly string[]).includes(path.slice(dot + 1)))
  )
    return `invalid field path '${path}': only latencies has members (${LATENCY_FIELDS.map((f) => `latencies.${f}`).join(', ')})`;
  return null;
}

/** Why `redact` can't be used (an unknown field or path), or null. */
export function redactProblem(redact: readonly string[]): string | null {
  for (const path of redact) {
    const problem = pathProblem(path);
    if (problem !== null) return problem;
  }
  return null;
}

/**
 * Why `fields` (`--access-log-fields`) can't be used, or null: each a field of the line or one
 * member of `latencies` (`latencies.request`), at least one. Order and repeats do not matter (the
 * line keeps the order of ACCESS_LOG_FIELDS).
 */
export function fieldsProblem(fields: readonly string[]): string | null {
  if (fields.length === 0) return `name at least one field; the fields are ${ACCESS_LOG_FIELDS.join(', ')}`;
  return redactProblem(fields);
}

// Value codes of the compiled line (one per field, one per member of latencies).
const METHOD = 0;
const PATH = 1;
const QUERY = 2;
const HOST = 3;
const ROUTE = 4;
const SERVICE = 5;
const CONSUMER = 6;
const STATUS = 7;
const LATENCY_REQUEST = 8;
const LATENCY_KONG = 9;
const LATENCY_PROXY = 10;
const REQUEST_BYTES = 11;
const RESPONSE_BYTES = 12;
const CLIENT_IP = 13;
const TRACE_ID = 14;
const REQUEST_ID = 15;
const CORRELATION_ID = 16;

const CODE: Readonly<Record<Exclude<AccessLogField, 'latencies'>, number>> = {
  method: METHOD,
  path: PATH,
  query: QUERY,
  host: HOST,
  route: ROUTE,
  service: SERVICE,
  consumer: CONSUMER,
  status: STATUS,
  request_bytes: REQUEST_BYTES,
  response_bytes: RESPONSE_BYTES,
  client_ip: CLIENT_IP,
  trace_id: TRACE_ID,
  request_id: REQUEST_ID,
  correlation_id: CORRELATION_ID,
};
const LATENCY_CODE: Readonly<Record<LatencyField, number>> = {
  request: LATENCY_REQUEST,
  kong: LATENCY_KONG,
  proxy: LATENCY_PROXY,
};
/**
 * Codes whose value comes from exchangeFacts (the ids: the request id must be the one the log
 * plugins write). Latencies and bytes are read from the request itself (the same derivations).
 */
const FROM_FACTS: ReadonlySet<number> = new Set([TRACE_ID, REQUEST_ID, CORRELATION_ID]);

/** Writes the value of field `code` of `request` to `out` (`facts`: set when the code needs it). */
function writeValue(out: JsonLine, code: number, request: ProxyRequest, facts: ExchangeFacts | null): void {
  switch (code) {
    case METHOD:
      return out.string(request.method);
    case PATH:
      return out.string(request.rawPath);
    case QUERY:
      return out.string(redactCredentials(request.rawQuery, request.credentialQueryArgs));
    case HOST:
      return out.stringOrNull(request.host);
    case ROUTE: {
      const entry = request.entry;
      return entry === null ? out.raw(NULL) : out.string(entry.route.name ?? entry.route.id);
    }
    case SERVICE: {
      const service = request.entry === null ? null : request.entry.service;
      return service === null ? out.raw(NULL) : out.string(service.name ?? service.id);
    }
    case CONSUMER:
      return out.stringOrNull(request.consumerId);
    case STATUS:
      return out.number(countedStatus(request));
    case LATENCY_REQUEST:
      return out.ms(totalMs(request));
    case LATENCY_KONG:
      return out.ms(gatewayMs(request));
    case LATENCY_PROXY:
      return out.ms(upstreamMs(request));
    case REQUEST_BYTES:
      return out.number(request.bytesIn);
    case RESPONSE_BYTES:
      return out.number(request.bytesOut);
    case CLIENT_IP:
      return out.string(request.clientIp);
    case TRACE_ID: {
      // 32 hex digits (checked when read): nothing to escape.
      const id = facts!.traceId;
      if (id === null) return out.raw(NULL);
      out.raw(QUOTE);
      out.ascii(id);
      return out.raw(QUOTE);
    }
    case REQUEST_ID:
      out.raw(QUOTE);
      out.ascii(facts!.id); // hex
      return out.raw(QUOTE);
    default:
      return out.stringOrNull(facts!.correlationId);
  }
}

/** Formats lines for one field list and redaction setting (compiled once). */
export class AccessLogFormat {
  /** parts[i] is written before the value of codes[i]; parts[codes.length] ends the line. */
  private readonly parts: Constant[] = [];
  private readonly codes: number[] = [];
  private readonly needsFacts: boolean;

  /** `redact` must pass `redactProblem`, `fields` `fieldsProblem`. */
  constructor(redact: readonly string[] = [], fields: readonly string[] = ACCESS_LOG_FIELDS) {
    const hidden = new Set(redact);
    const shown = new Set(fields);
    let constant = '';
    const add = (key: string, hide: boolean, code: number): void => {
      constant += key;
      if (hide) constant += CENSORED;
      else {
        this.parts.push(new Constant(constant));
        this.codes.push(code);
        constant = '';
      }
    };
    for (const f of ACCESS_LOG_FIELDS) {
      if (f !== 'latencies') {
        if (shown.has(f)) add(`,"${f}":`, hidden.has(f), CODE[f]);
        continue;
      }
      const members = LATENCY_FIELDS.filter((m) => shown.has('latencies') || shown.has(`latencies.${m}`));
      if (members.length === 0) continue;
      if (hidden.has('latencies')) {
        constant += `,"latencies":${CENSORED}`;
        continue;
      }
      constant += ',"latencies":{';
      members.forEach((m, i) =>
        add(`${i === 0 ? '' : ','}"${m}":`, hidden.has(`latencies.${m}`), LATENCY_CODE[m]),
      );
      constant += '}';
    }
    this.parts.push(new Constant(constant + '}\n'));
    this.needsFacts = this.codes.some((c) => FROM_FACTS.has(c));
  }

  /**
   * Writes the line of an ended request (with its newline) to `out`, from its start; `time` is an
   * ISO timestamp (ASCII).
   */
  write(out: JsonLine, request: ProxyRequest, time: string): void {
    const facts = this.needsFacts ? exchangeFacts(request) : null;
    const parts = this.parts;
    const codes = this.codes;
    out.clear();
    out.constant(LINE_START);
    out.ascii(time);
    out.raw(QUOTE);
    for (let i = 0; i < codes.length; i++) {
      out.constant(parts[i]!);
      writeValue(out, codes[i]!, request, facts);
    }
    out.constant(parts[codes.length]!);
  }

  /** The line of an ended request as text (with its newline). */
  line(request: ProxyRequest, time: string): string {
    const out = new JsonLine();
    this.write(out, request, time);
    return out.text();
  }
}

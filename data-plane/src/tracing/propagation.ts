/**
 * Trace context propagation in Kong's header formats (kong/tracing/propagation): each format reads
 * a trace context from the client's headers and writes one into the upstream request's headers.
 * Ids are normalised to OpenTelemetry's lower-case hex (32 digits for a trace, 16 for a span);
 * anything malformed (wrong length, not hex, all zeros, out of range) is not a context, so a
 * garbage header never throws and is never forwarded as an id.
 */
import type { Extractor, Format, HeaderType } from '../plugins/opentelemetry/tracing-schema.js';

export { EXTRACTORS, FORMATS, HEADER_TYPES } from '../plugins/opentelemetry/tracing-schema.js';
export type { Extractor, Format, HeaderType } from '../plugins/opentelemetry/tracing-schema.js';

/** A trace context as the formats exchange it. */
export interface TraceContext {
  /** 32 lower-case hex digits, not all zero. */
  readonly traceId: string;
  /** 16 lower-case hex digits, not all zero. */
  readonly spanId: string;
  /** The sampling decision the header carried; null when it carried none. */
  readonly sampled: boolean | null;
  /** W3C `tracestate`, kept as it came (w3c only); null when none. */
  readonly traceState: string | null;
}

/** Reads a header (lower-case name) of the client's request: its first value, or undefined. */
export type HeaderReader = (name: string) => string | undefined;

const HEX16 = /^[0-9a-f]{16}$/;
const HEX32 = /^[0-9a-f]{32}$/;
const HEX_1_32 = /^[0-9a-f]{1,32}$/;
const HEX_1_16 = /^[0-9a-f]{1,16}$/;
const DECIMAL = /^[0-9]{1,39}$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);
const MAX_U64 = (1n << 64n) - 1n;
const MAX_U128 = (1n << 128n) - 1n;

/** A trace id of 16 or 32 hex digits as 32 digits (64-bit ids are left-padded), or null. */
function traceId(v: string | undefined, shortOk = false): string | null {
  if (v === undefined) return null;
  const s = v.trim().toLowerCase();
  let id: string;
  if (HEX32.test(s)) id = s;
  else if (HEX16.test(s) || (shortOk && HEX_1_32.test(s))) id = s.padStart(32, '0');
  else return null;
  return id === ZERO_TRACE ? null : id;
}

function spanId(v: string | undefined, shortOk = false): string | null {
  if (v === undefined) return null;
  const s = v.trim().toLowerCase();
  if (!(HEX16.test(s) || (shortOk && HEX_1_16.test(s)))) return null;
  const id = s.padStart(16, '0');
  return id === ZERO_SPAN ? null : id;
}

/**
 * An unsigned decimal id as hex: 64 bits as 16 digits (GCP span ids, Datadog ids), or 128 bits as
 * 32 digits when `wide` (a Datadog trace id); null when malformed, zero or out of range.
 */
function decimalId(v: string | undefined, wide = false): string | null {
  if (v === undefined) return null;
  const s = v.trim();
  if (!DECIMAL.test(s)) return null;
  const n = BigInt(s);
  if (n === 0n || n > (wide ? MAX_U128 : MAX_U64)) return null;
  return n.toString(16).padStart(wide ? 32 : 16, '0');
}

function sampledFlag(v: string | undefined): boolean | null {
  if (v === undefined) return null;
  const s = v.trim().toLowerCase();
  if (s === '1' || s === 'true' || s === 'd') return true;
  if (s === '0' || s === 'false') return false;
  return null;
}

function ctx(
  trace: string,
  span: string,
  sampled: boolean | null,
  state: string | null = null,
): TraceContext {
  return { traceId: trace, spanId: span, sampled, traceState: state };
}

// --- extractors ---

/** Kong reads version 00 only (kong/tracing/propagation/extractors/w3c.lua). */
const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

function extractW3c(h: HeaderReader): TraceContext | null {
  const raw = h('traceparent');
  if (raw === undefined) return null;
  const v = raw.trim();
  // A test and fixed slices (`00-<trace 3..35>-<span 36..52>-<flags 53..55>`): no match array.
  if (!TRACEPARENT.test(v)) return null;
  const trace = v.slice(3, 35);
  const span = v.slice(36, 52);
  if (trace === ZERO_TRACE || span === ZERO_SPAN) return null;
  const state = h('tracestate');
  return ctx(
    trace,
    span,
    (parseInt(v.slice(53, 55), 16) & 1) === 1,
    state === undefined || state === '' ? null : state,
  );
}

function extractB3Single(v: string): TraceContext | null {
  const parts = v.trim().split('-');
  // `b3: 0|1|d` alone is a sampling decision without ids: no context to continue.
  if (parts.length < 2 || parts.length > 4) return null;
  const trace = traceId(parts[0]);
  const span = spanId(parts[1]);
  if (trace === null || span === null) return null;
  let sampled: boolean | null = null;
  if (parts.length >= 3) {
    sampled = sampledFlag(parts[2]);
    if (sampled === null) return null;
  }
  if (parts.length === 4 && spanId(parts[3]) === null) return null;
  return ctx(trace, span, sampled);
}

function extractB3(h: HeaderReader): TraceContext | null {
  const trace = traceId(h('x-b3-traceid'));
  if (trace !== null) {
    const span = spanId(h('x-b3-spanid'));
    if (span === null) return null;
    const debug = h('x-b3-flags')?.trim() === '1';
    return ctx(trace, span, debug ? true : sampledFlag(h('x-b3-sampled')));
  }
  const single = h('b3');
  return single === undefined ? null : extractB3Single(single);
}

function extractJaeger(h: HeaderReader): TraceContext | null {
  const v = h('uber-trace-id');
  if (v === undefined) return null;
  const parts = decodeURIComponentSafe(v).trim().split(':');
  if (parts.length !== 4) return null;
  const trace = traceId(parts[0], true);
  const span = spanId(parts[1], true);
  if (trace === null || span === null) return null;
  // The parent is 16 hex digits, or 0 for none.
  if (parts[2] !== '0' && spanId(parts[2]) === null) return null;
  if (!/^[0-9a-f]{1,2}$/.test(parts[3]!.toLowerCase())) return null;
  return ctx(trace, span, (parseInt(parts[3]!, 16) & 1) === 1);
}

function extractOt(h: HeaderReader): TraceContext | null {
  const trace = traceId(h('ot-tracer-traceid'));
  const span = spanId(h('ot-tracer-spanid'));
  if (trace === null || span === null) return null;
  return ctx(trace, span, sampledFlag(h('ot-tracer-sampled')));
}

function extractAws(h: HeaderReader): TraceContext | null {
  const v = h('x-amzn-trace-id');
  if (v === undefined) return null;
  let trace: string | null = null;
  let span: string | null = null;
  let sampled: boolean | null = null;
  for (const part of v.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part
      .slice(eq + 1)
      .trim()
      .toLowerCase();
    if (key === 'Root') {
      const m = /^1-([0-9a-f]{8})-([0-9a-f]{24})$/.exec(value);
      if (m === null) return null;
      trace = m[1]! + m[2]!;
      if (trace === ZERO_TRACE) return null;
    } else if (key === 'Parent') {
      span = spanId(value);
      if (span === null) return null;
    } else if (key === 'Sampled') {
      sampled = sampledFlag(value);
    }
  }
  return trace === null || span === null ? null : ctx(trace, span, sampled);
}

const GCP = /^([0-9a-fA-F]{32})\/([0-9]{1,20})(?:;o=([01]))?$/;

function extractGcp(h: HeaderReader): TraceContext | null {
  const v = h('x-cloud-trace-context');
  if (v === undefined) return null;
  const m = GCP.exec(v.trim());
  if (m === null) return null;
  const trace = traceId(m[1]);
  const span = decimalId(m[2]);
  if (trace === null || span === null) return null;
  return ctx(trace, span, m[3] === undefined ? null : m[3] === '1');
}

function extractDatadog(h: HeaderReader): TraceContext | null {
  const t = decimalId(h('x-datadog-trace-id'), true);
  const span = decimalId(h('x-datadog-parent-id'));
  if (t === null || span === null) return null;
  const p = h('x-datadog-sampling-priority');
  const priority = p === undefined || !/^-?[0-9]{1,3}$/.test(p.trim()) ? null : Number(p.trim());
  return ctx(t, span, priority === null ? null : priority > 0);
}

const EXTRACT: Readonly<Record<Extractor, (h: HeaderReader) => TraceContext | null>> = {
  w3c: extractW3c,
  b3: extractB3,
  jaeger: extractJaeger,
  ot: extractOt,
  aws: extractAws,
  gcp: extractGcp,
  datadog: extractDatadog,
};

/** The context in the client's headers in `format`, or null (absent or malformed). */
export function extract(format: Extractor, headers: HeaderReader): TraceContext | null {
  return EXTRACT[format](headers);
}

// --- injectors ---

/** Header name → value pairs to set on the upstream request (replacing what the client sent). */
export type HeaderPairs = Array<readonly [string, string]>;

const flag = (s: boolean): string => (s ? '1' : '0');

/** The 64-bit decimal of the low 16 hex digits of `hex` (Datadog and GCP ids). */
const decimal = (hex: string): string => BigInt('0x' + hex.slice(-16)).toString(10);

const INJECT: Readonly<Record<Format, (c: TraceContext, out: HeaderPairs) => void>> = {
  w3c(c, out) {
    out.push(['traceparent', `00-${c.traceId}-${c.spanId}-${c.sampled ? '01' : '00'}`]);
    if (c.traceState !== null) out.push(['tracestate', c.traceState]);
  },
  b3(c, out) {
    out.push(
      ['x-b3-traceid', c.traceId],
      ['x-b3-spanid', c.spanId],
      ['x-b3-sampled', flag(c.sampled === true)],
    );
  },
  'b3-single'(c, out) {
    out.push(['b3', `${c.traceId}-${c.spanId}-${flag(c.sampled === true)}`]);
  },
  jaeger(c, out) {
    out.push(['uber-trace-id', `${c.traceId}:${c.spanId}:0:${c.sampled ? '01' : '00'}`]);
  },
  ot(c, out) {
    out.push(
      ['ot-tracer-traceid', c.traceId],
      ['ot-tracer-spanid', c.spanId],
      ['ot-tracer-sampled', flag(c.sampled === true)],
    );
  },
  aws(c, out) {
    const t = c.traceId;
    out.push([
      'x-amzn-trace-id',
      `Root=1-${t.slice(0, 8)}-${t.slice(8)};Parent=${c.spanId};Sampled=${flag(c.sampled === true)}`,
    ]);
  },
  gcp(c, out) {
    out.push(['x-cloud-trace-context', `${c.traceId}/${decimal(c.spanId)};o=${flag(c.sampled === true)}`]);
  },
  datadog(c, out) {
    out.push(
      ['x-datadog-trace-id', decimal(c.traceId)],
      ['x-datadog-parent-id', decimal(c.spanId)],
      ['x-datadog-sampling-priority', flag(c.sampled === true)],
    );
  },
};

/** Adds the headers that carry `context` in `format` to `out`. */
export function inject(format: Format, context: TraceContext, out: HeaderPairs): void {
  INJECT[format](context, out);
}

function decodeURIComponentSafe(v: string): string {
  if (!v.includes('%')) return v;
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

// --- a compiled propagation setting ---

/** Kong 3.6's `propagation` record (kong/tracing/propagation/schema.lua). */
export interface PropagationConfig {
  readonly extract: readonly Extractor[];
  readonly inject: readonly (Format | 'preserve')[];
  readonly clear: readonly string[];
  readonly defaultFormat: Format;
}

/** Kong's extraction order when a legacy header_type reads every format. */
const LEGACY_EXTRACT: readonly Extractor[] = ['b3', 'w3c', 'jaeger', 'ot', 'aws', 'gcp', 'datadog'];

/**
 * The propagation a legacy `header_type` means (Kong's kong/tracing/propagation/init.lua): every
 * format is read; `preserve` answers in the format found (else `defaultFormat`), `ignore` reads
 * nothing and writes `defaultFormat`, a named format is written whatever came in.
 */
export function fromHeaderType(headerType: HeaderType, defaultFormat: Format = 'w3c'): PropagationConfig {
  if (headerType === 'ignore') return { extract: [], inject: [defaultFormat], clear: [], defaultFormat };
  return {
    extract: LEGACY_EXTRACT,
    inject: [headerType === 'preserve' ? 'preserve' : headerType],
    clear: [],
    defaultFormat,
  };
}

/** The default: W3C in, W3C out (what OpenTelemetry SDKs do). */
export const W3C_PROPAGATION: PropagationConfig = {
  extract: ['w3c'],
  inject: ['w3c'],
  clear: [],
  defaultFormat: 'w3c',
};

/** The first context found in the configured formats, and the format it was found in. */
export interface Extracted {
  readonly context: TraceContext;
  readonly format: Extractor;
}

export function extractFirst(config: PropagationConfig, headers: HeaderReader): Extracted | null {
  for (const format of config.extract) {
    const context = EXTRACT[format](headers);
    if (context !== null) return { context, format };
  }
  return null;
}

/**
 * The headers to set upstream for `context`: each `inject` format (`preserve` = the format the
 * context came in, b3 keeping the single form when the client used it; else `defaultFormat`).
 */
export function injectAll(
  config: PropagationConfig,
  context: TraceContext,
  from: Extracted | null,
  fromB3Single: boolean,
): HeaderPairs {
  const out: HeaderPairs = [];
  for (const f of config.inject) {
    let format: Format;
    if (f !== 'preserve') format = f;
    else if (from === null) format = config.defaultFormat;
    else format = from.format === 'b3' && fromB3Single ? 'b3-single' : from.format;
    INJECT[format](context, out);
  }
  return out;
}

/** The validated `propagation` record. */
export interface PropagationRecord {
  readonly extract?: readonly string[] | null;
  readonly clear?: readonly string[] | null;
  readonly inject?: readonly string[] | null;
  readonly default_format: string;
}

/**
 * The propagation a plugin config means (Kong's rule): the `propagation` record when it sets
 * `extract`, `inject` or `clear`, else the legacy `header_type` (with `defaultFormat` for
 * `preserve`/`ignore`).
 */
export function propagationOf(
  record: PropagationRecord,
  headerType: string,
  legacyDefault: Format,
): PropagationConfig {
  if (record.extract == null && record.inject == null && record.clear == null)
    return fromHeaderType(headerType as HeaderType, legacyDefault);
  return {
    extract: (record.extract ?? []) as Extractor[],
    inject: (record.inject ?? []) as (Format | 'preserve')[],
    clear: record.clear ?? [],
    defaultFormat: record.default_format as Format,
  };
}

/**
 * Each header format's extract and inject, table-driven from Kong's cases
 * (spec/01-unit/26-tracing/02-propagation_strategies_spec.lua), and properties over hostile input:
 * garbage trace headers never throw and never yield a malformed id.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EXTRACTORS,
  FORMATS,
  extract,
  extractFirst,
  fromHeaderType,
  inject,
  injectAll,
  type Extractor,
  type Format,
  type HeaderPairs,
  type TraceContext,
} from './propagation.js';

const T16 = '0af7651916cd43dd8448eb211c80319c';
const T8 = '8448eb211c80319c';
const T8_DEC = '9532127138774266268';
const S1 = 'b7ad6b7169203331';
const S1_DEC = '13235353014750950193';
const S2 = 'b7ad6b7169203332';
const PAD = '0'.repeat(16);
const TOO_LONG = '1234567890123456789012345678901234567890';

const reader =
  (headers: Record<string, string>) =>
  (name: string): string | undefined =>
    headers[name];

interface Case {
  format: Extractor;
  what: string;
  headers: Record<string, string>;
  /** The context read, or null when the headers are refused. */
  want: Partial<TraceContext> | null;
}

const CASES: Case[] = [
  // w3c
  {
    format: 'w3c',
    what: 'base case',
    headers: { traceparent: `00-${T16}-${S1}-01` },
    want: { traceId: T16, spanId: S1, sampled: true },
  },
  {
    format: 'w3c',
    what: 'sampling mask on (09)',
    headers: { traceparent: `00-${T16}-${S1}-09` },
    want: { sampled: true },
  },
  {
    format: 'w3c',
    what: 'sampling mask off (08)',
    headers: { traceparent: `00-${T16}-${S1}-08` },
    want: { sampled: false },
  },
  {
    format: 'w3c',
    what: 'tracestate kept',
    headers: { traceparent: `00-${T16}-${S1}-00`, tracestate: 'a=1,b=2' },
    want: { sampled: false, traceState: 'a=1,b=2' },
  },
  {
    format: 'w3c',
    what: 'invalid version chars',
    headers: { traceparent: `vv-${T16}-${S1}-00` },
    want: null,
  },
  {
    format: 'w3c',
    what: 'invalid trace chars',
    headers: { traceparent: `00-${'v'.repeat(32)}-${S1}-00` },
    want: null,
  },
  {
    format: 'w3c',
    what: 'invalid span chars',
    headers: { traceparent: `00-${T16}-${'v'.repeat(16)}-00` },
    want: null,
  },
  { format: 'w3c', what: 'invalid flags chars', headers: { traceparent: `00-${T16}-${S1}-vv` }, want: null },
  { format: 'w3c', what: 'trace id too short', headers: { traceparent: `00-123-${S1}-00` }, want: null },
  {
    format: 'w3c',
    what: 'trace id all zero',
    headers: { traceparent: `00-${'0'.repeat(32)}-${S1}-00` },
    want: null,
  },
  {
    format: 'w3c',
    what: 'trace id too long',
    headers: { traceparent: `00-${TOO_LONG}-${S1}-00` },
    want: null,
  },
  { format: 'w3c', what: 'parent id too short', headers: { traceparent: `00-${T16}-123-00` }, want: null },
  { format: 'w3c', what: 'parent id all zero', headers: { traceparent: `00-${T16}-${PAD}-00` }, want: null },
  {
    format: 'w3c',
    what: 'version other than 00',
    headers: { traceparent: `01-${T16}-${S1}-00` },
    want: null,
  },
  { format: 'w3c', what: 'flags of 3 digits', headers: { traceparent: `00-${T16}-${S1}-000` }, want: null },
  { format: 'w3c', what: 'flags of 1 digit', headers: { traceparent: `00-${T16}-${S1}-0` }, want: null },
  // b3 (multi)
  {
    format: 'b3',
    what: 'multi base case',
    headers: { 'x-b3-traceid': T16, 'x-b3-spanid': S1, 'x-b3-parentspanid': S2, 'x-b3-sampled': '1' },
    want: { traceId: T16, spanId: S1, sampled: true },
  },
  {
    format: 'b3',
    what: 'multi sampled via flags',
    headers: { 'x-b3-traceid': T16, 'x-b3-spanid': S1, 'x-b3-flags': '1' },
    want: { sampled: true },
  },
  {
    format: 'b3',
    what: 'multi sampled = false',
    headers: { 'x-b3-traceid': T16, 'x-b3-spanid': S1, 'x-b3-sampled': '0' },
    want: { sampled: false },
  },
  {
    format: 'b3',
    what: 'multi 8-byte trace id padded',
    headers: { 'x-b3-traceid': T8, 'x-b3-spanid': S1, 'x-b3-sampled': '1' },
    want: { traceId: PAD + T8 },
  },
  {
    format: 'b3',
    what: 'multi invalid trace id',
    headers: { 'x-b3-traceid': 'x', 'x-b3-spanid': S1 },
    want: null,
  },
  {
    format: 'b3',
    what: 'multi sampling decision only (no ids: no context)',
    headers: { 'x-b3-sampled': '0' },
    want: null,
  },
  // b3 (single)
  {
    format: 'b3',
    what: 'single all fields',
    headers: { b3: `${T16}-${S1}-1-${S2}` },
    want: { traceId: T16, spanId: S1, sampled: true },
  },
  {
    format: 'b3',
    what: 'single sampled = false',
    headers: { b3: `${T16}-${S1}-0-${S2}` },
    want: { sampled: false },
  },
  { format: 'b3', what: 'single debug', headers: { b3: `${T16}-${S1}-d-${S2}` }, want: { sampled: true } },
  {
    format: 'b3',
    what: 'single ids only',
    headers: { b3: `${T16}-${S1}` },
    want: { traceId: T16, spanId: S1, sampled: null },
  },
  {
    format: 'b3',
    what: 'single 8-byte trace id',
    headers: { b3: `${T8}-${S1}-1` },
    want: { traceId: PAD + T8 },
  },
  { format: 'b3', what: 'single decision only', headers: { b3: '1' }, want: null },
  { format: 'b3', what: 'single bad sampled', headers: { b3: `${T16}-${S1}-x` }, want: null },
  { format: 'b3', what: 'single bad parent', headers: { b3: `${T16}-${S1}-1-zz` }, want: null },
  // jaeger
  {
    format: 'jaeger',
    what: 'base case',
    headers: { 'uber-trace-id': `${T16}:${S1}:${S2}:01` },
    want: { traceId: T16, spanId: S1, sampled: true },
  },
  {
    format: 'jaeger',
    what: 'sampled = false',
    headers: { 'uber-trace-id': `${T16}:${S1}:${S2}:00` },
    want: { sampled: false },
  },
  {
    format: 'jaeger',
    what: 'parent = 0',
    headers: { 'uber-trace-id': `${T16}:${S1}:0:01` },
    want: { spanId: S1, sampled: true },
  },
  {
    format: 'jaeger',
    what: '0-pads a shorter span id',
    headers: { 'uber-trace-id': `${T16}:123:${S2}:01` },
    want: { spanId: '0000000000000123' },
  },
  {
    format: 'jaeger',
    what: '0-pads a shorter trace id',
    headers: { 'uber-trace-id': `1234:${S1}:${S2}:01` },
    want: { traceId: '00000000000000000000000000001234' },
  },
  {
    format: 'jaeger',
    what: 'url-encoded',
    headers: { 'uber-trace-id': `${T16}%3A${S1}%3A0%3A1` },
    want: { traceId: T16, sampled: true },
  },
  { format: 'jaeger', what: 'invalid trace', headers: { 'uber-trace-id': `vv:${S1}:${S2}:00` }, want: null },
  { format: 'jaeger', what: 'invalid span', headers: { 'uber-trace-id': `${T8}:vv:${S2}:00` }, want: null },
  { format: 'jaeger', what: 'invalid parent', headers: { 'uber-trace-id': `${T8}:${S1}:vv:00` }, want: null },
  {
    format: 'jaeger',
    what: 'invalid flags',
    headers: { 'uber-trace-id': `${T8}:${S1}:${S2}:vv` },
    want: null,
  },
  {
    format: 'jaeger',
    what: 'trace id too long',
    headers: { 'uber-trace-id': `${TOO_LONG}:${S1}:${S2}:00` },
    want: null,
  },
  {
    format: 'jaeger',
    what: 'trace id all zero',
    headers: { 'uber-trace-id': `${'0'.repeat(32)}:${S1}:${S2}:00` },
    want: null,
  },
  {
    format: 'jaeger',
    what: 'parent id too short',
    headers: { 'uber-trace-id': `${T16}:${S1}:ff:00` },
    want: null,
  },
  {
    format: 'jaeger',
    what: 'span id too long',
    headers: { 'uber-trace-id': `${T16}:${TOO_LONG}:${S1}:00` },
    want: null,
  },
  {
    format: 'jaeger',
    what: 'span id all zero',
    headers: { 'uber-trace-id': `${T16}:${'0'.repeat(32)}:${S1}:00` },
    want: null,
  },
  {
    format: 'jaeger',
    what: 'flags of 3 digits',
    headers: { 'uber-trace-id': `${T16}:${S1}:${S2}:123` },
    want: null,
  },
  // ot
  {
    format: 'ot',
    what: 'base case',
    headers: { 'ot-tracer-traceid': T16, 'ot-tracer-spanid': S1, 'ot-tracer-sampled': '1' },
    want: { traceId: T16, spanId: S1, sampled: true },
  },
  {
    format: 'ot',
    what: 'sampled = false',
    headers: { 'ot-tracer-traceid': T16, 'ot-tracer-spanid': S1, 'ot-tracer-sampled': '0' },
    want: { sampled: false },
  },
  {
    format: 'ot',
    what: 'missing sampled flag',
    headers: { 'ot-tracer-traceid': T16, 'ot-tracer-spanid': S1 },
    want: { sampled: null },
  },
  {
    format: 'ot',
    what: '8-byte trace id',
    headers: { 'ot-tracer-traceid': T8, 'ot-tracer-spanid': S1 },
    want: { traceId: PAD + T8 },
  },
  { format: 'ot', what: 'invalid trace id', headers: { 'ot-tracer-traceid': 'xx' }, want: null },
  // datadog
  {
    format: 'datadog',
    what: 'base case',
    headers: {
      'x-datadog-trace-id': T8_DEC,
      'x-datadog-parent-id': S1_DEC,
      'x-datadog-sampling-priority': '1',
    },
    want: { traceId: PAD + T8, spanId: S1, sampled: true },
  },
  {
    format: 'datadog',
    what: 'sampled = false',
    headers: {
      'x-datadog-trace-id': T8_DEC,
      'x-datadog-parent-id': S1_DEC,
      'x-datadog-sampling-priority': '0',
    },
    want: { sampled: false },
  },
  {
    format: 'datadog',
    what: 'missing sampled',
    headers: { 'x-datadog-trace-id': T8_DEC, 'x-datadog-parent-id': S1_DEC },
    want: { sampled: null },
  },
  {
    format: 'datadog',
    what: 'big decimal trace id',
    headers: { 'x-datadog-trace-id': BigInt('0xfffffffffffffff1').toString(), 'x-datadog-parent-id': S1_DEC },
    want: { traceId: PAD + 'fffffffffffffff1' },
  },
  {
    format: 'datadog',
    what: '128-bit decimal trace id',
    headers: {
      'x-datadog-trace-id': BigInt('0x' + 'f'.repeat(31) + '1').toString(),
      'x-datadog-parent-id': S1_DEC,
    },
    want: { traceId: 'f'.repeat(31) + '1' },
  },
  {
    format: 'datadog',
    what: 'hex trace id refused',
    headers: { 'x-datadog-trace-id': T16, 'x-datadog-parent-id': S1_DEC },
    want: null,
  },
  {
    format: 'datadog',
    what: 'hex parent id refused',
    headers: { 'x-datadog-trace-id': T8_DEC, 'x-datadog-parent-id': S1 },
    want: null,
  },
  {
    format: 'datadog',
    what: 'empty trace id',
    headers: { 'x-datadog-trace-id': '', 'x-datadog-parent-id': S1_DEC },
    want: null,
  },
  {
    format: 'datadog',
    what: 'parent id over 64 bits',
    headers: { 'x-datadog-trace-id': T8_DEC, 'x-datadog-parent-id': (1n << 64n).toString() },
    want: null,
  },
  // aws
  {
    format: 'aws',
    what: 'base case',
    headers: { 'x-amzn-trace-id': `Root=1-${T16.slice(0, 8)}-${T16.slice(8)};Parent=${S1};Sampled=1` },
    want: { traceId: T16, spanId: S1, sampled: true },
  },
  {
    format: 'aws',
    what: 'with spaces',
    headers: {
      'x-amzn-trace-id': `  Root =   1-${T16.slice(0, 8)}-${T16.slice(8)}  ;  Parent= ${S1};  Sampled   =1`,
    },
    want: { traceId: T16, spanId: S1, sampled: true },
  },
  {
    format: 'aws',
    what: 'parent first',
    headers: { 'x-amzn-trace-id': `Parent=${S1};Root=1-${T16.slice(0, 8)}-${T16.slice(8)};Sampled=0` },
    want: { traceId: T16, sampled: false },
  },
  {
    format: 'aws',
    what: 'extra fields',
    headers: {
      'x-amzn-trace-id': `Foo=bar;Root=1-${T16.slice(0, 8)}-${T16.slice(8)};Parent=${S1};Sampled=1`,
    },
    want: { traceId: T16 },
  },
  {
    format: 'aws',
    what: 'bad root version',
    headers: { 'x-amzn-trace-id': `Root=2-${T16.slice(0, 8)}-${T16.slice(8)};Parent=${S1}` },
    want: null,
  },
  {
    format: 'aws',
    what: 'missing parent',
    headers: { 'x-amzn-trace-id': `Root=1-${T16.slice(0, 8)}-${T16.slice(8)};Sampled=1` },
    want: null,
  },
  // gcp
  {
    format: 'gcp',
    what: 'base case',
    headers: { 'x-cloud-trace-context': `${T16}/${S1_DEC};o=1` },
    want: { traceId: T16, spanId: S1, sampled: true },
  },
  {
    format: 'gcp',
    what: 'no options',
    headers: { 'x-cloud-trace-context': `${T16}/${S1_DEC}` },
    want: { sampled: null },
  },
  {
    format: 'gcp',
    what: 'not sampled',
    headers: { 'x-cloud-trace-context': `${T16}/${S1_DEC};o=0` },
    want: { sampled: false },
  },
  {
    format: 'gcp',
    what: 'hex span id refused',
    headers: { 'x-cloud-trace-context': `${T16}/${S1};o=1` },
    want: null,
  },
  {
    format: 'gcp',
    what: 'short trace id refused',
    headers: { 'x-cloud-trace-context': `${T8}/${S1_DEC};o=1` },
    want: null,
  },
];

describe('trace header extraction (Kong cases)', () => {
  it.each(CASES)('$format: $what', ({ format, headers, want }) => {
    const got = extract(format, reader(headers));
    if (want === null) expect(got).toBeNull();
    else expect(got).toMatchObject(want);
  });
});

const CTX: TraceContext = { traceId: T16, spanId: S1, sampled: true, traceState: null };

describe('trace header injection (Kong cases)', () => {
  const injected = (f: Format, c: TraceContext = CTX): Record<string, string> => {
    const out: HeaderPairs = [];
    inject(f, c, out);
    return Object.fromEntries(out);
  };
  it('w3c writes traceparent (and tracestate when the parent had one)', () => {
    expect(injected('w3c')).toEqual({ traceparent: `00-${T16}-${S1}-01` });
    expect(injected('w3c', { ...CTX, sampled: false, traceState: 'a=1' })).toEqual({
      traceparent: `00-${T16}-${S1}-00`,
      tracestate: 'a=1',
    });
  });
  it('b3 writes the multi headers, b3-single the one b3 header', () => {
    expect(injected('b3')).toEqual({ 'x-b3-traceid': T16, 'x-b3-spanid': S1, 'x-b3-sampled': '1' });
    expect(injected('b3-single')).toEqual({ b3: `${T16}-${S1}-1` });
  });
  it('jaeger, ot, aws and gcp carry the 128-bit trace id', () => {
    expect(injected('jaeger')).toEqual({ 'uber-trace-id': `${T16}:${S1}:0:01` });
    expect(injected('ot')).toEqual({
      'ot-tracer-traceid': T16,
      'ot-tracer-spanid': S1,
      'ot-tracer-sampled': '1',
    });
    expect(injected('aws')).toEqual({
      'x-amzn-trace-id': `Root=1-${T16.slice(0, 8)}-${T16.slice(8)};Parent=${S1};Sampled=1`,
    });
    expect(injected('gcp')).toEqual({ 'x-cloud-trace-context': `${T16}/${S1_DEC};o=1` });
  });
  it('datadog writes decimal ids of the low 64 bits', () => {
    expect(injected('datadog')).toEqual({
      'x-datadog-trace-id': T8_DEC,
      'x-datadog-parent-id': S1_DEC,
      'x-datadog-sampling-priority': '1',
    });
  });
});

describe("propagation settings (Kong's header_type and propagation)", () => {
  const b3Single = reader({ b3: `${T16}-${S1}-1` });
  it('preserve answers in the format the client used, b3 single kept single', () => {
    const config = fromHeaderType('preserve');
    const from = extractFirst(config, b3Single);
    expect(from?.format).toBe('b3');
    expect(injectAll(config, CTX, from, true).map((p) => p[0])).toEqual(['b3']);
  });
  it('preserve without an incoming context writes the default format', () => {
    const config = fromHeaderType('preserve', 'jaeger');
    expect(injectAll(config, CTX, extractFirst(config, reader({})), false).map((p) => p[0])).toEqual([
      'uber-trace-id',
    ]);
  });
  it('ignore reads nothing and writes the default format', () => {
    const config = fromHeaderType('ignore');
    expect(extractFirst(config, b3Single)).toBeNull();
    expect(injectAll(config, CTX, null, false).map((p) => p[0])).toEqual(['traceparent']);
  });
  it('a named header_type reads any format and writes that one', () => {
    const config = fromHeaderType('aws');
    const from = extractFirst(config, reader({ traceparent: `00-${T16}-${S1}-01` }));
    expect(from?.format).toBe('w3c');
    expect(injectAll(config, CTX, from, false).map((p) => p[0])).toEqual(['x-amzn-trace-id']);
  });
  it('extract tries formats in order, the first found wins', () => {
    const headers = reader({
      traceparent: `00-${T16}-${S1}-01`,
      'ot-tracer-traceid': T8,
      'ot-tracer-spanid': S2,
    });
    const config = {
      extract: ['ot', 'w3c'] as Extractor[],
      inject: ['w3c' as const],
      clear: [],
      defaultFormat: 'w3c' as const,
    };
    expect(extractFirst(config, headers)).toMatchObject({ format: 'ot', context: { spanId: S2 } });
  });
});

// --- properties over hostile input ---

const HEADER_NAMES = [
  'traceparent',
  'tracestate',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-sampled',
  'x-b3-flags',
  'b3',
  'uber-trace-id',
  'ot-tracer-traceid',
  'ot-tracer-spanid',
  'ot-tracer-sampled',
  'x-amzn-trace-id',
  'x-cloud-trace-context',
  'x-datadog-trace-id',
  'x-datadog-parent-id',
  'x-datadog-sampling-priority',
];

/** Values near the formats (valid pieces, separators, lengths, zeros, huge numbers) and plain garbage. */
const hostileValue = fc.oneof(
  fc.string(),
  fc.fullUnicodeString({ maxLength: 80 }),
  fc
    .array(
      fc.oneof(
        fc.constantFrom(
          T16,
          T8,
          S1,
          S1_DEC,
          '0',
          '00',
          '01',
          'ff',
          'd',
          '-',
          ':',
          '/',
          ';',
          '=',
          'Root',
          '1-',
          ';o=1',
          '%3A',
          ' ',
          '0'.repeat(32),
          TOO_LONG,
          '99999999999999999999999999999999999999999',
        ),
        fc.hexaString({ maxLength: 40 }),
        fc.stringOf(fc.constantFrom('0', '9', '-', ':', 'a', 'F'), { maxLength: 40 }),
      ),
      { maxLength: 8 },
    )
    .map((parts) => parts.join('')),
);

const hostileHeaders = fc.dictionary(fc.constantFrom(...HEADER_NAMES), hostileValue);

describe('trace headers: properties', () => {
  it('garbage never throws, and a context read from it has well-formed, non-zero ids', () => {
    fc.assert(
      fc.property(hostileHeaders, (headers) => {
        for (const format of EXTRACTORS) {
          const c = extract(format, reader(headers));
          if (c === null) continue;
          expect(c.traceId).toMatch(/^[0-9a-f]{32}$/);
          expect(c.traceId).not.toBe('0'.repeat(32));
          expect(c.spanId).toMatch(/^[0-9a-f]{16}$/);
          expect(c.spanId).not.toBe('0'.repeat(16));
        }
      }),
      { numRuns: 2000 },
    );
  });

  const hex = (n: number) =>
    fc.stringOf(fc.constantFrom(...'0123456789abcdef'), { minLength: n, maxLength: n });
  const context = fc.record({
    traceId: hex(32).filter((t) => t !== '0'.repeat(32) && t.slice(16) !== PAD),
    spanId: hex(16).filter((s) => s !== PAD),
    sampled: fc.boolean(),
    traceState: fc.constant(null),
  });

  it('every format reads back what it wrote (datadog: the low 64 bits of the trace id)', () => {
    fc.assert(
      fc.property(context, fc.constantFrom(...FORMATS), (c, format) => {
        const out: HeaderPairs = [];
        inject(format, c, out);
        for (const [, v] of out) expect(v).toMatch(/^[\x21-\x7e]+$/);
        const back = extract(format === 'b3-single' ? 'b3' : format, reader(Object.fromEntries(out)));
        const traceId = format === 'datadog' ? PAD + c.traceId.slice(16) : c.traceId;
        expect(back).toEqual({ ...c, traceId });
      }),
      { numRuns: 1000 },
    );
  });
});

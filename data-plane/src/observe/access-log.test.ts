import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ProxyRequest } from '../proxy/request.js';
import { ACCESS_LOG_FIELDS, CENSOR, LATENCY_FIELDS, fieldsProblem } from './access-log-line.js';
import { AccessLog, accessLogCounters, openAccessLog, redactProblem } from './access-log.js';
import { JsonLine } from './json-line.js';
import type { LineSink } from './line-writer.js';

/** A sink keeping each line's bytes as text (decoded as UTF-8, as a reader of the file would). */
const textSink = (lines: string[]): LineSink => ({
  writeBytes: (bytes, length) =>
    lines.push(Buffer.from(bytes.buffer, bytes.byteOffset, length).toString('utf8')),
});

interface Fields {
  method: string;
  path: string;
  query: string;
  host: string | undefined;
  route: { id: string; name: string | null } | null;
  service: { id: string; name: string | null } | null;
  consumer: string | undefined;
  status: number;
  clientIp: string;
  correlationId: string | null;
}

const BASE: Fields = {
  method: 'GET',
  path: '/r',
  query: 'a=1',
  host: 'h:8000',
  route: { id: 'rid', name: 'r' },
  service: { id: 'sid', name: 's' },
  consumer: undefined,
  status: 200,
  clientIp: '10.0.0.1',
  correlationId: null,
};

/** The fields of an ended ProxyRequest the access log reads. */
function request(f: Partial<Fields> = {}): ProxyRequest {
  const v = { ...BASE, ...f };
  const headers = ['Host', 'up', 'traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'];
  if (v.correlationId !== null) headers.push('X-Request-ID', v.correlationId);
  return {
    method: v.method,
    rawPath: v.path,
    rawQuery: v.query,
    host: v.host,
    entry: v.route === null ? null : { route: v.route, service: v.service },
    consumerId: v.consumer,
    res: { statusCode: v.status },
    clientIp: v.clientIp,
    headers,
    rawHeaders: [],
    startedAt: 100,
    upstreamStartedAt: 100.25,
    upstreamHeadersAt: 101.5,
    endedAt: 102,
    bytesIn: 95,
    bytesOut: 231,
  } as unknown as ProxyRequest;
}

function collecting(sample = 1, redact: string[] = [], random?: () => number, fields?: string[]) {
  const lines: string[] = [];
  const log = new AccessLog(
    textSink(lines),
    sample,
    redact,
    random,
    () => Date.UTC(2026, 11, 3, 10, 41, 54, 472),
    fields,
  );
  return { log, lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** Strings of any UTF-16 code units: control characters, quotes, backslashes, lone surrogates. */
const hostile = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }),
  // Around the length where the scan hands over to the regex (64).
  fc.string({
    unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
    minLength: 60,
    maxLength: 70,
  }),
  fc.string({
    unit: fc.constantFrom('a', '"', '\\', '\n', '\ud800', '\udc00'),
    minLength: 60,
    maxLength: 70,
  }),
  fc.constantFrom('"', '\\', '\n', '\u0000', '\u2028', '\ud800', '\udc00x', '</script>', '{"a":1}'),
);

describe('access log line', () => {
  it('is one JSON line with every field', () => {
    const { log, lines, parsed } = collecting();
    log.requestEnded(request({ consumer: 'c1', correlationId: 'corr-1' }));
    expect(lines[0]!.endsWith('\n')).toBe(true);
    expect(lines[0]!.indexOf('\n')).toBe(lines[0]!.length - 1);
    const line = parsed()[0]!;
    expect(line).toMatchObject({
      level: 'info',
      time: '2026-12-03T10:41:54.472Z',
      method: 'GET',
      path: '/r',
      query: 'a=1',
      host: 'h:8000',
      route: 'r',
      service: 's',
      consumer: 'c1',
      status: 200,
      latencies: { request: 2, kong: 0.25, proxy: 1.25 },
      request_bytes: 95,
      response_bytes: 231,
      client_ip: '10.0.0.1',
      trace_id: '0af7651916cd43dd8448eb211c80319c',
      correlation_id: 'corr-1',
    });
    expect(line.request_id).toMatch(/^[0-9a-f]{32}$/);
    expect(Object.keys(line)).toEqual(['level', 'time', ...ACCESS_LOG_FIELDS]);
  });

  it('is, by default, byte for byte the line of every field in its documented order', () => {
    const { log, lines } = collecting();
    log.requestEnded(request({ consumer: 'c1', correlationId: 'corr-1' }));
    expect(lines[0]!.replace(/"request_id":"[0-9a-f]{32}"/, '"request_id":"ID"')).toBe(
      '{"level":"info","time":"2026-12-03T10:41:54.472Z","method":"GET","path":"/r","query":"a=1",' +
        '"host":"h:8000","route":"r","service":"s","consumer":"c1","status":200,' +
        '"latencies":{"request":2,"kong":0.25,"proxy":1.25},"request_bytes":95,"response_bytes":231,' +
        '"client_ip":"10.0.0.1","trace_id":"0af7651916cd43dd8448eb211c80319c","request_id":"ID",' +
        '"correlation_id":"corr-1"}\n',
    );
  });

  it('writes null for what a request did not have (no route, no host, no upstream)', () => {
    const { log, parsed } = collecting();
    const r = request({ route: null, host: undefined });
    Object.assign(r, { upstreamStartedAt: -1, upstreamHeadersAt: -1, headers: [] });
    log.requestEnded(r);
    expect(parsed()[0]).toMatchObject({
      route: null,
      service: null,
      host: null,
      consumer: null,
      trace_id: null,
      correlation_id: null,
      latencies: { request: 2, kong: 2, proxy: -1 },
    });
  });

  it('escapes any string so that JSON.parse of its UTF-8 bytes gives it back (property)', () => {
    // The line's bytes are UTF-8, as they go to the file: an unescaped lone surrogate would have
    // become U+FFFD, an unescaped quote or control character would not parse.
    const out = new JsonLine();
    fc.assert(
      fc.property(hostile, (s) => {
        out.clear();
        out.string(s);
        expect(JSON.parse(out.text())).toBe(s);
      }),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(
        fc.record({
          method: hostile,
          path: hostile,
          query: hostile,
          host: fc.option(hostile, { nil: undefined }),
          route: fc.option(fc.record({ id: hostile, name: fc.option(hostile) }), { nil: null }),
          service: fc.record({ id: hostile, name: fc.option(hostile) }),
          consumer: fc.option(hostile, { nil: undefined }),
          status: fc.integer({ min: 100, max: 999 }),
          clientIp: hostile,
          correlationId: fc.option(hostile),
        }),
        (f) => {
          const { log, lines } = collecting();
          log.requestEnded(request(f));
          const line = JSON.parse(lines[0]!) as Record<string, unknown>;
          expect(line.method).toBe(f.method);
          expect(line.path).toBe(f.path);
          expect(line.query).toBe(f.query);
          expect(line.host).toBe(f.host ?? null);
          expect(line.route).toBe(f.route === null ? null : (f.route.name ?? f.route.id));
          expect(line.service).toBe(f.route === null ? null : (f.service.name ?? f.service.id));
          expect(line.consumer).toBe(f.consumer ?? null);
          expect(line.status).toBe(f.status);
          expect(line.client_ip).toBe(f.clientIp);
          expect(line.correlation_id).toBe(f.correlationId);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('writes the value of a query argument that carried a credential as "[REDACTED]" (Kong/kong#4366)', () => {
    const { log, parsed } = collecting();
    const req = request({ query: 'page=2&apikey=S3CRET&x&api%6Bey=S3CRET2&jwt=a.b.c' });
    (req as { credentialQueryArgs: Set<string> | null }).credentialQueryArgs = new Set(['apikey', 'jwt']);
    log.requestEnded(req);
    expect(parsed()[0]!.query).toBe(`page=2&apikey=${CENSOR}&x&api%6Bey=${CENSOR}&jwt=${CENSOR}`);
  });

  it('never writes the value of a credential query argument, whatever the query (property)', () => {
    const name = fc.stringMatching(/^[a-z%0-9_]{1,6}$/);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(name, fc.string({ unit: fc.constantFrom('a', 'b', '%', '+', '=', 'Z') })), {
          maxLength: 6,
        }),
        fc.string({ minLength: 1, maxLength: 4 }).map((s) => `SECRET${s}`),
        (pairs, secret) => {
          const query = [...pairs.map(([n, v]) => `${n}=${v}`), `apikey=${encodeURIComponent(secret)}`].join(
            '&',
          );
          const { log, parsed } = collecting();
          const req = request({ query });
          (req as { credentialQueryArgs: Set<string> | null }).credentialQueryArgs = new Set(['apikey']);
          log.requestEnded(req);
          const written = parsed()[0]!.query as string;
          expect(written).not.toContain(encodeURIComponent(secret));
          // The other arguments are kept as sent.
          for (const [n, v] of pairs) if (n !== 'apikey') expect(written).toContain(`${n}=${v}`);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('writes exactly the redacted fields as "[REDACTED]" (property)', () => {
    const paths = [...ACCESS_LOG_FIELDS, ...LATENCY_FIELDS.map((f) => `latencies.${f}`)];
    fc.assert(
      fc.property(fc.subarray(paths), (redact) => {
        const { log, parsed } = collecting(1, redact);
        log.requestEnded(request({ consumer: 'c', correlationId: 'x' }));
        const line = parsed()[0]!;
        for (const f of ACCESS_LOG_FIELDS) {
          if (redact.includes(f)) expect(line[f]).toBe(CENSOR);
          else if (f !== 'latencies') expect(line[f]).not.toBe(CENSOR);
        }
        if (!redact.includes('latencies'))
          for (const f of LATENCY_FIELDS)
            expect((line.latencies as Record<string, unknown>)[f] === CENSOR).toBe(
              redact.includes(`latencies.${f}`),
            );
      }),
      { numRuns: 300 },
    );
  });

  const PATHS = [...ACCESS_LOG_FIELDS, ...LATENCY_FIELDS.map((f) => `latencies.${f}`)];

  it('writes exactly the chosen fields, in the line order, with the values of the full line (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...PATHS), { minLength: 1, maxLength: 20 }),
        fc.subarray(PATHS),
        (fields, redact) => {
          const req = request({ consumer: 'c', correlationId: 'x' });
          const full = collecting(1, redact);
          full.log.requestEnded(req);
          const chosen = collecting(1, redact, undefined, fields);
          chosen.log.requestEnded(req);
          expect(chosen.lines[0]!.endsWith('}\n')).toBe(true);
          const all = full.parsed()[0]!;
          const line = chosen.parsed()[0]!;
          const members = LATENCY_FIELDS.filter(
            (m) => fields.includes('latencies') || fields.includes(`latencies.${m}`),
          );
          const top = ACCESS_LOG_FIELDS.filter((f) =>
            f === 'latencies' ? members.length > 0 : fields.includes(f),
          );
          expect(Object.keys(line)).toEqual(['level', 'time', ...top]);
          for (const f of top) {
            if (f !== 'latencies' || all.latencies === CENSOR) expect(line[f]).toEqual(all[f]);
            else
              expect(line.latencies).toEqual(
                Object.fromEntries(members.map((m) => [m, (all.latencies as Record<string, unknown>)[m]])),
              );
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('refuses a field list that is empty or names no field of the line (hostile lists, property)', () => {
    expect(fieldsProblem([])).toMatch(/at least one field/);
    expect(fieldsProblem(['method', 'latencies.kong'])).toBeNull();
    expect(fieldsProblem(['latencies.x'])).toMatch(/invalid field path/);
    expect(() => openAccessLog({ destination: 'stdout', sample: 1, redact: [], fields: ['level'] })).toThrow(
      /access log: unknown field 'level'/,
    );
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string(), fc.constantFrom(...PATHS, 'latencies.', '.', 'time', '__proto__'))),
        (fields) => {
          const problem = fieldsProblem(fields);
          expect(problem === null).toBe(fields.length > 0 && fields.every((f) => PATHS.includes(f)));
          if (problem === null) expect(() => collecting(1, [], undefined, fields)).not.toThrow();
          else expect(() => collecting(1, [], undefined, fields)).toThrow(/access log:/);
        },
      ),
    );
  });

  it('refuses a redact path naming no field of the line, or a member of a field that has none', () => {
    expect(redactProblem(['client_ip', 'latencies.proxy'])).toBeNull();
    expect(redactProblem(['password'])).toMatch(/unknown field 'password'/);
    expect(redactProblem(['latencies.x'])).toMatch(/invalid field path 'latencies.x'/);
    expect(redactProblem(['client_ip.x'])).toMatch(/invalid field path/);
    expect(() => openAccessLog({ destination: 'stdout', sample: 1, redact: ['nope'] })).toThrow(
      /unknown field/,
    );
    fc.assert(
      fc.property(fc.array(fc.string()), (redact) => {
        const problem = redactProblem(redact);
        if (problem === null) expect(() => collecting(1, redact)).not.toThrow();
        else expect(() => collecting(1, redact)).toThrow(/access log:/);
      }),
    );
  });
});

describe('access log', () => {
  it('writes the time as Date#toISOString would, whatever the sequence of clock readings (property)', () => {
    const ms = fc.oneof(
      fc.integer({ min: -62_167_219_200_000, max: 253_402_300_799_999 }), // years 0000–9999
      fc.integer({ min: -8.64e15, max: 8.64e15 }), // any Date, ±YYYYYY years included
      fc.constantFrom(0, 999, 1000, -1, -1000, -1001, Date.UTC(2026, 11, 3, 23, 59, 59, 999)),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(ms, fc.integer({ min: 0, max: 2500 })), { minLength: 1, maxLength: 20 }),
        (steps) => {
          let now = 0;
          const lines: string[] = [];
          const log = new AccessLog(textSink(lines), 1, [], Math.random, () => now);
          const expected: string[] = [];
          for (const [start, delta] of steps) {
            // A reading, then one a little later (same second or the next ones).
            for (const t of [start, start + delta]) {
              if (Math.abs(t) > 8.64e15) continue;
              now = t;
              log.requestEnded(request());
              expected.push(new Date(t).toISOString());
            }
          }
          expect(lines.map((l) => (JSON.parse(l) as { time: string }).time)).toEqual(expected);
        },
      ),
    );
  });

  it('logs the sampled fraction of requests (a request is kept when random() < sample)', () => {
    const draws = [0.1, 0.6, 0.29, 0.3, 0.99, 0];
    const { log, parsed } = collecting(0.3, [], () => draws.shift()!);
    for (let i = 0; i < 6; i++) log.requestEnded(request({ path: `/r/${i}` }));
    expect(parsed().map((l) => l.path)).toEqual(['/r/0', '/r/2', '/r/5']);
  });

  const dir = mkdtempSync(join(tmpdir(), 'gh-access-log-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes whole lines to a file (folder created, appended to) and counts them as sent', async () => {
    const file = join(dir, 'logs', 'access.log');
    const before = accessLogCounters.sent;
    for (const round of [0, 1]) {
      const log = openAccessLog({ destination: file, sample: 1, redact: ['client_ip'] });
      for (let i = 0; i < 500; i++) log.observer.requestEnded(request({ path: `/${round}/${i}` }));
      await log.close();
    }
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(1000);
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed[0]).toMatchObject({ path: '/0/0', client_ip: CENSOR });
    expect(parsed[999]).toMatchObject({ path: '/1/499' });
    expect(accessLogCounters.sent - before).toBe(1000);
  });
});

#!/usr/bin/env node
/**
 * The access log's line and request facts, per call, in isolation: CPU ns per line over fake
 * requests whose latencies are new on every call (as in a proxy: a loop over one request with
 * fixed timings finds its latencies in V8's number-to-string cache and under-reads). Every field
 * (the default line), up to the bytes the writer copies: a build with `JsonLine` writes the line as
 * UTF-8 bytes; an older build's line (a string) is encoded with Buffer.from, as its writer did per
 * batch. `--against <checkout>` measures that checkout's build too, alternating.
 *
 *   node test/bench/access-log-line.mjs [--lines 300000] [--rounds 5] [--against /work/main]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DP } from './lib/proxy-cpu.mjs';

const { values } = parseArgs({
  options: {
    lines: { type: 'string', default: '300000' },
    rounds: { type: 'string', default: '5' },
    against: { type: 'string' },
  },
});
const lines = Number(values.lines);
const builds = [['this build', DP]];
if (values.against) builds.push([values.against, join(values.against, 'data-plane', 'dist')]);

/** A request as the line reads it (the fields ProxyRequest has after end()). */
const fakeRequest = () => ({
  method: 'GET',
  rawPath: '/api/x',
  rawQuery: '',
  credentialQueryArgs: null,
  host: '127.0.0.1:8000',
  entry: { route: { name: 'r', id: 'r' }, service: { name: 's', id: 's' } },
  consumerId: null,
  grpc: false,
  res: { statusCode: 200 },
  startedAt: 0,
  endedAt: 0,
  upstreamStartedAt: 0,
  upstreamHeadersAt: 0,
  bytesIn: 95,
  bytesOut: 231,
  clientIp: '127.0.0.1',
  headers: [],
  rawHeaders: ['host', '127.0.0.1:8000', 'user-agent', 'bench'],
  facts: null,
});

const formats = [];
for (const [label, dist] of builds) {
  const { AccessLogFormat } = await import(join(dist, 'observe', 'access-log-line.js'));
  const format = new AccessLogFormat();
  const jsonLine = await import(join(dist, 'observe', 'json-line.js')).catch(() => null);
  if (jsonLine === null) formats.push([label, (r, time) => Buffer.from(format.line(r, time)).length]);
  else {
    const out = new jsonLine.JsonLine();
    formats.push([label, (r, time) => (format.write(out, r, time), out.length)]);
  }
}
const requests = Array.from({ length: 1024 }, fakeRequest);
const results = new Map(formats.map(([label]) => [label, []]));
let sink = 0;
for (let round = 0; round < Number(values.rounds); round++) {
  for (const [label, format] of formats) {
    const before = process.cpuUsage();
    for (let i = 0; i < lines; i++) {
      const r = requests[i & 1023];
      r.facts = null;
      const at = performance.now();
      r.startedAt = at;
      r.upstreamStartedAt = at + 0.05 + (i % 97) * 0.0031;
      r.upstreamHeadersAt = r.upstreamStartedAt + 0.4 + (i % 389) * 0.00713;
      r.endedAt = r.upstreamHeadersAt + 0.02 + (i % 53) * 0.0127;
      sink += format(r, '2026-12-07T12:44:27.505Z');
    }
    const d = process.cpuUsage(before);
    results.get(label).push(((d.user + d.system) * 1000) / lines);
  }
}
for (const [label, xs] of results) {
  const sorted = [...xs].sort((a, b) => a - b);
  console.log(
    `${label.padEnd(24)} CPU ns per line: lowest ${sorted[0].toFixed(0)}, median ${sorted[sorted.length >> 1].toFixed(0)}` +
      `  (rounds: ${xs.map((x) => x.toFixed(0)).join(' ')})`,
  );
}
if (sink === 0) console.log('');

#!/usr/bin/env node
// Benchmark (not a test): the plugin runtime's per-request header work for a route with key-auth +
// rate-limiting, in one thread with no sockets, so a busy shared box changes the wall time but
// hardly the CPU a pass costs. One pass = what those plugins make the runtime do per request:
// a new PluginRequest, `authenticate` (consumer + credential), the upstream header array of a
// typical request through `applyUpstreamHeaders`, rate-limiting's five response headers through
// `setResponseHeader`, and a typical upstream response's headers through `applyResponseHeaders`.
// Builds (this tree's data-plane/dist and, with --other, another checkout's) take turns in rounds;
// CPU ns per pass (process.cpuUsage), medians.
//
//   node test/bench/plugin-runtime-loop.mjs [--rounds 30] [--passes 200000] [--other /work/main]
import { join, resolve } from 'node:path';
import { ROOT } from './lib/processes.mjs';

const argv = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const ROUNDS = Number(opt('rounds', 30));
const PASSES = Number(opt('passes', 200_000));
const OTHER = opt('other', null);

const consumer = { id: 'c-1', username: 'bench', custom_id: null, tags: null, created_at: 0, updated_at: 0 };
const credential = { id: 'k-1', type: 'key-auth', identifier: 'k-1', consumerId: 'c-1' };
// As upstreamRequestHeaders builds them (host first), for `GET /echo` with an API key.
const REQUEST = [
  'host',
  '127.0.0.1:9000',
  'User-Agent',
  'wrk',
  'Accept',
  '*/*',
  'x-api-key',
  'bench-key',
  'x-forwarded-for',
  '127.0.0.1',
  'x-forwarded-proto',
  'http',
  'x-forwarded-host',
  '127.0.0.1',
  'x-forwarded-port',
  '8000',
  'x-forwarded-path',
  '/echo',
  'x-real-ip',
  '127.0.0.1',
  'via',
  '1.1 gatehouse',
];
const RESPONSE = [
  'Content-Type',
  'application/json',
  'Content-Length',
  '99',
  'Date',
  'Thu, 03 Dec 2026 17:00:00 GMT',
  'via',
  '1.1 gatehouse/0.1.0',
];
// rate-limiting's names, made once per instance (decide.ts periodLimit).
const LIMIT = `X-RateLimit-Limit-${'Minute'}`;
const REMAINING = `X-RateLimit-Remaining-${'Minute'}`;

async function load(root) {
  const dist = join(root, 'data-plane', 'dist', 'plugins', 'runtime');
  const { PluginRequest } = await import(join(dist, 'context.js'));
  const { applyResponseHeaders, applyUpstreamHeaders } = await import(join(dist, 'phases.js'));
  const { pluginRequest, snapshotOf } = await import(join(dist, 'test-support.js'));
  const snapshot = snapshotOf({ consumers: [consumer] });
  const proxied = pluginRequest(snapshot).proxied;
  let sink = 0;
  return {
    run(n) {
      for (let i = 0; i < n; i += 1) {
        const ctx = new PluginRequest(proxied, snapshot);
        ctx.authenticate(consumer, credential);
        sink += applyUpstreamHeaders(REQUEST.slice(), ctx).length;
        ctx.setResponseHeader(LIMIT, '1000000000');
        ctx.setResponseHeader(REMAINING, String(999_999_999 - (i & 1023)));
        ctx.setResponseHeader('RateLimit-Limit', '1000000000');
        ctx.setResponseHeader('RateLimit-Remaining', String(999_999_999 - (i & 1023)));
        ctx.setResponseHeader('RateLimit-Reset', '42');
        sink += applyResponseHeaders(RESPONSE.slice(), ctx).length;
      }
      return sink;
    },
  };
}

const rows = [{ name: 'this', root: ROOT }];
if (OTHER !== null) rows.push({ name: 'other', root: resolve(OTHER) });
for (const row of rows) {
  row.bench = await load(row.root);
  row.ns = [];
  row.bench.run(20_000); // warm up (and optimise)
}
for (let round = 0; round < ROUNDS; round += 1) {
  for (const row of [...rows].sort(() => Math.random() - 0.5)) {
    const cpu0 = process.cpuUsage();
    row.bench.run(PASSES);
    const cpu = process.cpuUsage(cpu0);
    row.ns.push(((cpu.user + cpu.system) * 1000) / PASSES);
  }
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
console.log(`\n${ROUNDS} rounds of ${PASSES} passes per build, rows in random order; CPU ns per pass\n`);
console.log('| build | CPU ns/pass median (min–max) |');
console.log('| --- | ---: |');
for (const row of rows)
  console.log(
    `| ${row.name} (${row.root}) | ${median(row.ns).toFixed(0)} (${Math.min(...row.ns).toFixed(0)}–${Math.max(...row.ns).toFixed(0)}) |`,
  );

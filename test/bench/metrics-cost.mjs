#!/usr/bin/env node
/**
 * CPU cost of the gatehouse_* request metrics (the RequestMetrics observer), in-process:
 *  1. whole path: two ProxyServers on one upstream, one with the observer and one without; the
 *     same client sends interleaved rounds to each and process.cpuUsage gives CPU µs per request
 *     (client and upstream run in this process too; they cost the same in both rows, so the
 *     difference is the metrics' cost);
 *  2. the observer alone: requestEnded on a finished real request, a million times.
 * Usage: node test/bench/metrics-cost.mjs [--requests 4000] [--rounds 6]
 * Build first (turbo run build). Wall-clock figures are not printed: this box is shared.
 */
import http from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { completeConfig, createLogger, ROUTE_DEFAULTS, SERVICE_DEFAULTS } from '../../shared/dist/index.js';
import { ROOT } from './lib/processes.mjs';

const DP = join(ROOT, 'data-plane', 'dist');
const { ProxyServer } = await import(join(DP, 'proxy', 'proxy-server.js'));
const { RequestMetrics } = await import(join(DP, 'observe', 'request-metrics.js'));
const { metricStore } = await import(join(DP, 'observe', 'metric-store.js'));
const { Pool } = createRequire(join(ROOT, 'data-plane', 'package.json'))('undici');

const { values } = parseArgs({ options: { requests: { type: 'string' }, rounds: { type: 'string' } } });
const N = Number(values.requests ?? 4000);
const ROUNDS = Number(values.rounds ?? 6);
const CONCURRENCY = 32;

const upstream = http.createServer((_req, res) => res.end('hello world'));
await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
const config = completeConfig({
  services: [
    {
      ...SERVICE_DEFAULTS,
      id: 's',
      name: 's',
      host: '127.0.0.1',
      port: upstream.address().port,
      created_at: 0,
      updated_at: 0,
    },
  ],
  routes: [
    {
      ...ROUTE_DEFAULTS,
      id: 'r',
      name: 'r',
      paths: ['/'],
      service: { id: 's' },
      created_at: 0,
      updated_at: 0,
    },
  ],
});
const logger = createLogger('bench', { level: 'silent' });
let captured = null;
const metrics = new RequestMetrics();
const capture = { requestEnded: (r) => (captured ??= r) };
async function start(observers) {
  const p = new ProxyServer({ logger, observers });
  await p.listen(0, '127.0.0.1');
  p.apply(config);
  return { p, pool: new Pool(`http://127.0.0.1:${p.server.address().port}`, { connections: CONCURRENCY }) };
}
const off = await start([]);
const on = await start([metrics, capture]);

async function round(pool) {
  let sent = 0;
  const worker = async () => {
    while (sent < N) {
      sent++;
      const { body } = await pool.request({ path: '/x', method: 'GET' });
      await body.text();
    }
  };
  const before = process.cpuUsage();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const used = process.cpuUsage(before);
  return (used.user + used.system) / N;
}

await round(off.pool); // warm-up
await round(on.pool);
const rows = { off: [], on: [] };
for (let i = 0; i < ROUNDS; i++) {
  rows.off.push(await round(off.pool));
  rows.on.push(await round(on.pool));
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log(
  `whole path, CPU µs per request (median of ${ROUNDS} interleaved rounds of ${N}; client + upstream + proxy in one process):`,
);
console.log(
  `  metrics off: ${median(rows.off).toFixed(1)}   rounds ${rows.off.map((x) => x.toFixed(1)).join(' ')}`,
);
console.log(
  `  metrics on:  ${median(rows.on).toFixed(1)}   rounds ${rows.on.map((x) => x.toFixed(1)).join(' ')}`,
);

const M = 1_000_000;
const before = process.cpuUsage();
for (let i = 0; i < M; i++) metrics.requestEnded(captured);
const used = process.cpuUsage(before);
console.log(`observer alone: ${(((used.user + used.system) * 1000) / M).toFixed(0)} ns CPU per requestEnded`);
const d = metricStore.drain();
console.log(`(drained ${d.routes.length} cell(s), ${d.routes[0]?.codes[1]} requests counted)`);

for (const { p, pool } of [off, on]) {
  await pool.close();
  await p.close();
}
upstream.close();

#!/usr/bin/env node
/**
 * CPU cost of the gatehouse_* request metrics (the RequestMetrics observer):
 *  1. whole path (lib/proxy-cpu.mjs): a proxy with the observer and one without, interleaved
 *     rounds, the proxy's CPU µs per request (upstream and client run in child processes);
 *  2. the observer alone: requestEnded on a finished real request, a million times.
 * Usage: node test/bench/metrics-cost.mjs [--requests 4000] [--rounds 6]
 * Build first (node scripts/bootstrap.mjs). Wall-clock figures are not printed: this box is shared.
 */
import { parseArgs } from 'node:util';
import { dp, measureCpu, oneRouteConfig, report, startProxy, startUpstream } from './lib/proxy-cpu.mjs';

const { RequestMetrics } = await dp('observe/request-metrics.js');
const { metricStore } = await dp('observe/metric-store.js');

const { values } = parseArgs({ options: { requests: { type: 'string' }, rounds: { type: 'string' } } });
const N = Number(values.requests ?? 4000);
const ROUNDS = Number(values.rounds ?? 6);

const upstream = await startUpstream();
const config = oneRouteConfig(upstream.port);
let captured = null;
const metrics = new RequestMetrics();
const capture = { requestEnded: (r) => (captured ??= r) };
const variants = [
  ['metrics off', await startProxy(config, { observers: [] })],
  ['metrics on', await startProxy(config, { observers: [metrics, capture] })],
];
report(
  await measureCpu(variants, { requests: N, rounds: ROUNDS, concurrency: 32 }),
  `whole path, proxy CPU µs per request (median of ${ROUNDS} interleaved rounds of ${N}):`,
);

const M = 1_000_000;
const before = process.cpuUsage();
for (let i = 0; i < M; i++) metrics.requestEnded(captured);
const used = process.cpuUsage(before);
console.log(`observer alone: ${(((used.user + used.system) * 1000) / M).toFixed(0)} ns CPU per requestEnded`);
const d = metricStore.drain();
console.log(`(drained ${d.routes.length} cell(s), ${d.routes[0]?.codes[1]} requests counted)`);

for (const [, v] of variants) await v.proxy.close();
upstream.kill();

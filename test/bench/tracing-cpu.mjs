#!/usr/bin/env node
/**
 * CPU per proxied request with tracing off and on (in-process, the built data plane): one
 * ProxyServer per variant in this process, a local upstream and a local OTLP/HTTP sink in a child
 * process, N requests over keep-alive at a fixed concurrency. Reports the proxy process's CPU
 * (user + system, from process.cpuUsage) per request; the client's own CPU (undici, in this
 * process too) is the same for every variant, so the differences are the proxy's.
 *
 *   node test/bench/tracing-cpu.mjs [--requests 20000] [--rounds 3]
 *
 * Variants: off (no tracer), on at 100 % sampling (every request exported), on at 0 % (spans
 * not recorded, context still propagated). Rounds are interleaved so that load from others on
 * the machine falls on every variant alike.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import { once } from 'node:events';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { completeConfig, createLogger, ROUTE_DEFAULTS, SERVICE_DEFAULTS } from '../../shared/dist/index.js';
import { ROOT } from './lib/processes.mjs';

const { values } = parseArgs({
  options: { requests: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '3' } },
});
const N = Number(values.requests);
const ROUNDS = Number(values.rounds);
const CONCURRENCY = 16;

const DP = join(ROOT, 'data-plane', 'dist');
const { ProxyServer } = await import(join(DP, 'proxy', 'proxy-server.js'));
const { tracingFromEnv } = await import(join(DP, 'tracing', 'env.js'));

// The OTLP sink: another process, so its CPU is not counted here.
const sink = spawn(
  process.execPath,
  [
    '-e',
    `require('http').createServer((q,s)=>{q.resume();q.on('end',()=>s.end())}).listen(0,'127.0.0.1',function(){console.log(this.address().port)})`,
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const [portLine] = await once(sink.stdout, 'data');
const sinkUrl = `http://127.0.0.1:${String(portLine).trim()}`;

const upstream = http.createServer((_req, res) => res.end('ok'));
upstream.keepAliveTimeout = 60_000;
upstream.listen(0, '127.0.0.1');
await once(upstream, 'listening');

const logger = createLogger('tracing-bench', { level: 'silent' });
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
      paths: ['/api'],
      service: { id: 's' },
      created_at: 0,
      updated_at: 0,
    },
  ],
});

async function proxyFor(env) {
  const tracer =
    env === null ? null : tracingFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl, ...env }, logger);
  const proxy = new ProxyServer({ logger, tracer });
  await proxy.listen(0, '127.0.0.1');
  proxy.apply(config);
  return { proxy, url: `http://127.0.0.1:${proxy.server.address().port}` };
}

const variants = [
  ['off', await proxyFor(null)],
  ['on, 100 % sampled', await proxyFor({ OTEL_TRACES_SAMPLER: 'always_on' })],
  ['on, 0 % sampled', await proxyFor({ OTEL_TRACES_SAMPLER: 'always_off' })],
];

const agent = new Agent({ connections: CONCURRENCY, pipelining: 1 });
const headers = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' };

async function run(url, n) {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      const r = await request(`${url}/api/x`, { dispatcher: agent, headers });
      await r.body.dump();
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

const totals = new Map(variants.map(([name]) => [name, []]));
for (const [, v] of variants) await run(v.url, 2000); // warm-up
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, v] of variants) {
    const before = process.cpuUsage();
    await run(v.url, N);
    const d = process.cpuUsage(before);
    totals.get(name).push((d.user + d.system) / N);
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = median(totals.get('off'));
console.log(
  `requests per round: ${N}, rounds: ${ROUNDS}, concurrency: ${CONCURRENCY} (proxy and client CPU, one process)`,
);
for (const [name, xs] of totals) {
  const m = median(xs);
  console.log(
    `${name.padEnd(20)} ${m.toFixed(1).padStart(7)} µs/req  (rounds: ${xs.map((x) => x.toFixed(1)).join(', ')})  ${name === 'off' ? '' : `+${(m - base).toFixed(1)} µs`}`,
  );
}

for (const [, v] of variants) await v.proxy.close();
await agent.close();
upstream.close();
sink.kill();

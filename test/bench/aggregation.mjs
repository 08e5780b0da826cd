#!/usr/bin/env node
/**
 * response-aggregation cost: a route composed of 2 parallel backend calls through a ProxyServer
 * (this checkout's data-plane/dist, in this process) against the client making the same 2 calls
 * itself, in parallel, straight to the backend. Backend and load client are child processes.
 * Rounds alternate the two so the shared machine's load falls on both; reports operations per
 * second (one operation = one composed answer = 2 backend responses) and p50 / p99 latency, the
 * median of the rounds. Indicative only on a shared box.
 *
 * Usage: node test/bench/aggregation.mjs [--requests 3000] [--rounds 3] [--concurrency 16]
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { childServer, DP, median, silentLogger } from './lib/proxy-cpu.mjs';
import { completeConfig, ROUTE_DEFAULTS, SERVICE_DEFAULTS } from '../../shared/dist/index.js';
import { ROOT } from './lib/processes.mjs';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '3000' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '16' },
  },
});
const backend = await childServer(
  `const s=require('http').createServer((q,r)=>{r.setHeader('content-type','application/json');` +
    `r.end(JSON.stringify({path:q.url,id:42,name:'Ann',items:[1,2,3]}))});s.keepAliveTimeout=60000;` +
    `s.listen(0,'127.0.0.1',()=>console.log(s.address().port))`,
);
const { ProxyServer } = await import(join(DP, 'proxy', 'proxy-server.js'));
const { loadPluginRegistry } = await import(join(DP, 'plugins', 'registry.js'));
const proxy = new ProxyServer({ logger: silentLogger, plugins: await loadPluginRegistry() });
await proxy.listen(0, '127.0.0.1');
proxy.apply(
  completeConfig({
    services: [
      {
        ...SERVICE_DEFAULTS,
        id: 's',
        name: 'backend',
        host: '127.0.0.1',
        port: backend.port,
        created_at: 0,
        updated_at: 0,
      },
    ],
    routes: [
      {
        ...ROUTE_DEFAULTS,
        id: 'r',
        name: 'r',
        paths: ['/agg'],
        service: { id: 's' },
        created_at: 0,
        updated_at: 0,
      },
    ],
    plugins: [
      {
        id: '00000000-0000-4000-8000-000000000001',
        name: 'response-aggregation',
        instance_name: null,
        config: {
          calls: [
            { name: 'a', service: 'backend', path: '/a', fields: ['id', 'name'] },
            { name: 'b', service: 'backend', path: '/b', fields: ['items'] },
          ],
        },
        protocols: ['http', 'https'],
        enabled: true,
        service: null,
        route: { id: 'r' },
        consumer: null,
        consumer_group: null,
        tags: null,
        created_at: 0,
        updated_at: 0,
      },
    ],
  }),
);
const direct = `http://127.0.0.1:${backend.port}`;
const variants = [
  ['direct: 2 parallel calls by the client', [`${direct}/a`, `${direct}/b`]],
  ['through the DP: 1 call, 2 aggregated', [`http://127.0.0.1:${proxy.server.address().port}/agg`]],
];
const client = fork(join(ROOT, 'test', 'bench', 'lib', 'latency-client.mjs'));
const run = async (urls, n) => {
  client.send({ urls, n, concurrency: Number(values.concurrency) });
  const [m] = await once(client, 'message');
  if (m.error) throw new Error(m.error);
  return m;
};
for (const [, urls] of variants) await run(urls, 500); // warm-up
const results = new Map(variants.map(([name]) => [name, []]));
for (let i = 0; i < Number(values.rounds); i++)
  for (const [name, urls] of variants) results.get(name).push(await run(urls, Number(values.requests)));
console.log(
  `response-aggregation, ${values.requests} operations × ${values.rounds} rounds, concurrency ${values.concurrency} (medians):`,
);
for (const [name, rs] of results) {
  const ops = median(rs.map((r) => r.opsPerSec));
  const p50 = median(rs.map((r) => r.p50));
  const p99 = median(rs.map((r) => r.p99));
  console.log(
    `  ${name.padEnd(42)} ${ops.toFixed(0).padStart(6)} ops/s  p50 ${p50.toFixed(2)} ms  p99 ${p99.toFixed(2)} ms`,
  );
}
client.kill();
await proxy.close();
backend.kill();

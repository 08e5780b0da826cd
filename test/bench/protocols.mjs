#!/usr/bin/env node
// gRPC unary and WebSocket messages through one ProxyServer (this checkout's built
// data-plane/dist, in this process) against the same upstreams reached directly. The upstreams
// (a @grpc/grpc-js echo and a `ws` echo) and the load client run in child processes, so
// process.cpuUsage is the proxy's own CPU. Variants are measured in interleaved rounds:
//   gRPC — a ghz-like closed loop: --calls unary calls of --size bytes, --concurrency in flight
//          over one channel (one HTTP/2 connection; h2c to the proxy's plain port);
//   WS   — --connections WebSockets, each sending a --size byte message and waiting for its echo
//          before the next, --messages in all.
// Prints throughput (medians over the rounds), the through-the-proxy/direct ratio and the proxy's
// CPU µs per call or message.
//
//   node test/bench/protocols.mjs [--calls 20000] [--messages 50000] [--rounds 5]
//   node test/bench/protocols.mjs --calls 300 --messages 300 --rounds 1     # smoke run
//
// Build first (npm run build). Do not run other work on the box while it measures.
import { fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { completeConfig, ROUTE_DEFAULTS, SERVICE_DEFAULTS } from '../../shared/dist/index.js';
import { ROOT } from './lib/processes.mjs';
import { median, startProxy } from './lib/proxy-cpu.mjs';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '20000' },
    messages: { type: 'string', default: '50000' },
    rounds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '32' },
    connections: { type: 'string', default: '32' },
    size: { type: 'string', default: '128' },
  },
});
const calls = Number(values.calls);
const messages = Number(values.messages);
const rounds = Number(values.rounds);
const concurrency = Number(values.concurrency);
const connections = Number(values.connections);
const size = Number(values.size);

const servers = spawn(process.execPath, [join(ROOT, 'test', 'bench', 'lib', 'protocol-echo-servers.mjs')], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const [line] = await once(servers.stdout, 'data');
const ports = JSON.parse(String(line).split('\n')[0]);

const entity = { created_at: 0, updated_at: 0 };
const config = completeConfig({
  services: [
    {
      ...SERVICE_DEFAULTS,
      ...entity,
      id: 'g',
      name: 'grpc',
      protocol: 'grpc',
      host: '127.0.0.1',
      port: ports.grpc,
    },
    { ...SERVICE_DEFAULTS, ...entity, id: 'w', name: 'ws', host: '127.0.0.1', port: ports.ws },
  ],
  routes: [
    {
      ...ROUTE_DEFAULTS,
      ...entity,
      id: 'rg',
      name: 'grpc',
      protocols: ['grpc', 'grpcs'],
      paths: ['/bench.Echo/'],
      strip_path: false,
      service: { id: 'g' },
    },
    {
      ...ROUTE_DEFAULTS,
      ...entity,
      id: 'rw',
      name: 'ws',
      protocols: ['ws', 'wss'],
      paths: ['/ws'],
      strip_path: false,
      service: { id: 'w' },
    },
  ],
});
const { proxy } = await startProxy(config);
const proxyPort = proxy.server.address().port;

const client = fork(join(ROOT, 'test', 'bench', 'lib', 'protocol-load-client.mjs'), [], {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
/** One run of the client; returns {perSecond, cpu: proxy CPU µs per unit}. */
async function run(job, units) {
  const before = process.cpuUsage();
  client.send(job);
  const [reply] = await once(client, 'message');
  if (reply.error) throw new Error(`load client: ${reply.error}`);
  const d = process.cpuUsage(before);
  return { perSecond: (units / reply.ms) * 1000, cpu: (d.user + d.system) / units };
}

const grpcJob = (port) => ({ kind: 'grpc', target: `127.0.0.1:${port}`, n: calls, concurrency, size });
const wsJob = (port) => ({ kind: 'ws', url: `ws://127.0.0.1:${port}/ws`, connections, n: messages, size });
const variants = [
  ['gRPC unary, direct', grpcJob(ports.grpc), calls, 'calls/s'],
  ['gRPC unary, through the proxy (h2c)', grpcJob(proxyPort), calls, 'calls/s'],
  ['WebSocket echo, direct', wsJob(ports.ws), messages, 'messages/s'],
  ['WebSocket echo, through the proxy', wsJob(proxyPort), messages, 'messages/s'],
];

// Warm-up: each variant once at a tenth of the load.
for (const [, job, units] of variants) await run({ ...job, n: Math.max(100, Math.floor(job.n / 10)) }, units);
const results = new Map(variants.map(([name]) => [name, []]));
for (let round = 0; round < rounds; round++)
  for (const [name, job, units] of variants) results.get(name).push(await run(job, units));

console.log(
  `protocols through the proxy vs direct — ${rounds} round(s); gRPC ${calls} calls × ${size} B, ${concurrency} in flight; WS ${messages} messages × ${size} B over ${connections} connections`,
);
const pct = (xs) => median(xs).toFixed(0);
for (let i = 0; i < variants.length; i += 2) {
  const [directName, , , unit] = variants[i];
  const [proxyName] = variants[i + 1];
  const direct = results.get(directName);
  const through = results.get(proxyName);
  const d = median(direct.map((r) => r.perSecond));
  const p = median(through.map((r) => r.perSecond));
  console.log(`  ${directName.padEnd(40)} ${pct(direct.map((r) => r.perSecond)).padStart(8)} ${unit}`);
  console.log(
    `  ${proxyName.padEnd(40)} ${pct(through.map((r) => r.perSecond)).padStart(8)} ${unit}  ratio ${(p / d).toFixed(2)}  proxy CPU ${median(through.map((r) => r.cpu)).toFixed(1)} µs per unit  rounds: ${through.map((r) => r.perSecond.toFixed(0)).join(' ')}`,
  );
}
client.kill();
servers.kill();
await proxy.close?.();
process.exit(0);

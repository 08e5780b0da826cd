#!/usr/bin/env node
// HTTP/2 against HTTP/1.1 at the edge of one ProxyServer (this checkout's built data-plane/dist),
// in this process; the upstream (HTTP/1.1, keep-alive) and the load clients in child processes, so
// process.cpuUsage is the proxy's CPU. Variants, measured in interleaved rounds on the plain port:
//   h1   — undici, keep-alive, --concurrency requests at a time over up to 64 connections
//   h2c  — node:http2, ONE session (h2c with prior knowledge), --concurrency streams at a time
//   h1 against a second ProxyServer with h2c off (--http2-cleartext off), keep-alive and with a new
//        connection per request: what the preface sniff costs HTTP/1.1 (once per connection)
// and, with --tls, h1 and h2 on the HTTPS listener (h1 over TLS, h2 by ALPN). Prints requests/s
// and proxy CPU µs per request, medians over the rounds.
//
//   node test/bench/h2-edge.mjs [--requests 20000] [--rounds 5] [--concurrency 32] [--tls]
//   node test/bench/h2-edge.mjs --requests 200 --rounds 1     # smoke run
//
// Build first (npm run build). Do not run other work on the box while it measures.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from './lib/processes.mjs';
import { median, oneRouteConfig, startProxy, startUpstream } from './lib/proxy-cpu.mjs';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '32' },
    tls: { type: 'boolean', default: false },
  },
});
const requests = Number(values.requests);
const rounds = Number(values.rounds);
const concurrency = Number(values.concurrency);

const upstream = await startUpstream();
const { proxy, url } = await startProxy(oneRouteConfig(upstream.port));
const off = await startProxy(oneRouteConfig(upstream.port), { http2: { cleartext: false, tls: false } });
const variants = [
  ['h1 keep-alive (plain)', { client: 'h1', url }],
  ['h2c one session (plain)', { client: 'h2', url }],
  ['h1 keep-alive, h2c off', { client: 'h1', url: off.url }],
  ['h1 connection per request', { client: 'h1', url, reset: true }],
  ['h1 connection per request, h2c off', { client: 'h1', url: off.url, reset: true }],
];
if (values.tls) {
  await proxy.listenTls(0, '127.0.0.1');
  const tlsUrl = `https://127.0.0.1:${proxy.tlsServer.address().port}`;
  variants.push(
    ['h1 keep-alive (TLS)', { client: 'h1', url: tlsUrl }],
    ['h2 one session (TLS, ALPN)', { client: 'h2', url: tlsUrl }],
  );
}

const clients = {
  h1: fork(join(ROOT, 'test', 'bench', 'lib', 'load-client.mjs'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // The HTTPS listener's certificate is the self-signed default.
    env: { ...process.env, NODE_TLS_REJECT_UNAUTHORIZED: '0', NODE_NO_WARNINGS: '1' },
  }),
  h2: fork(join(ROOT, 'test', 'bench', 'lib', 'h2-load-client.mjs'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  }),
};

async function run(v, n) {
  const client = clients[v.client];
  client.send({ url: `${v.url}/api/x`, n, concurrency, sessions: 1, reset: v.reset === true });
  const [reply] = await once(client, 'message');
  if (reply.error) throw new Error(`${v.client} load client: ${reply.error}`);
}

for (const [, v] of variants) await run(v, Math.min(2000, requests)); // warm-up
const results = new Map(variants.map(([name]) => [name, { cpu: [], rps: [] }]));
for (let round = 0; round < rounds; round++) {
  for (const [name, v] of variants) {
    const before = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await run(v, requests);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const d = process.cpuUsage(before);
    const r = results.get(name);
    r.cpu.push((d.user + d.system) / requests);
    r.rps.push(requests / (ms / 1000));
  }
}

console.log(`h2 vs h1 at the edge: ${requests} requests x ${rounds} rounds, ${concurrency} at a time`);
console.log(`  ${'variant'.padEnd(36)} ${'req/s'.padStart(9)} ${'CPU µs/req'.padStart(11)}  rounds (µs/req)`);
for (const [name, r] of results) {
  console.log(
    `  ${name.padEnd(36)} ${median(r.rps).toFixed(0).padStart(9)} ${median(r.cpu).toFixed(1).padStart(11)}  ${r.cpu.map((x) => x.toFixed(1)).join(' ')}`,
  );
}
console.log(`  (sessions opened by the proxy: ${proxy.h2?.counts.sessions ?? 0})`);

for (const c of Object.values(clients)) c.kill();
upstream.kill();
await proxy.close();
await off.proxy.close();

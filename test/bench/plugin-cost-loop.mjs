#!/usr/bin/env node
// Benchmark (not a test): what a plugin set costs per request, measured in ONE process that holds
// the client, one proxy per row (ProxyServer from data-plane/dist, configured as
// gatehouse-candidate.mjs configures it, lib/bench-config.mjs) and the upstream, over real loopback
// sockets. Rows take turns in short batches (round robin, --batch requests each), and each batch's
// CPU time (process.cpuUsage) is charged to its row: whatever the neighbours of a busy shared box
// do, they do it to every row alike, which separate runs (or a load generator on another core)
// cannot promise. The process never waits for a load generator: each of --conns keep-alive
// connections sends its next request when the last answer is in.
//
// A `direct` row (client → upstream, no proxy) is what the client and the upstream cost; a row's
// proxy share is its figure minus direct's, and "vs no plugin" compares proxy shares.
//
//   node test/bench/plugin-cost-loop.mjs [--rounds 40] [--batch 2000] [--warmup 5] [--conns 16] \
//     [--row LABEL=PLUGINS[@DIST]]... [--path /echo?q=...]
//
// --path: the request target every row's client sends (default /echo), e.g. a query string for
// the waf rows (`--row waf=waf --path '/echo?q=hello%20world&name=O%27Brien'`).
// req/s is each row's batch size over the batch's wall time (median over rounds): on a busy box
// an indication only, the CPU column is the figure to compare.
//
// PLUGINS: the plugin list of lib/bench-config.mjs ('' = the proxy with no plugin; 'direct' = no
// proxy). DIST: another build of data-plane/dist, relative to the repository, for a before/after
// comparison in one sitting (copy the old build to data-plane/dist-before first, so its imports
// resolve). Default rows: direct, none, key-auth, key-auth+rate-limiting, proxy-cache.
// CPU µs/req per row: the median over rounds of the batch's CPU / batch requests (after --warmup
// rounds that are not counted); rows run in a new random order each round. "vs" is the median,
// over rounds, of the row's proxy share divided by the no-plugin row's in the same round: the
// figure to trust on a busy box (the two batches ran seconds apart, under the same neighbours).
import { createServer as createHttpServer } from 'node:http';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './lib/processes.mjs';
import { benchConfig } from './lib/bench-config.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const API_KEY = 'bench-loop-key';
const BODY = Buffer.from(
  '{"ok":true,"service":"bench-upstream","path":"/echo","message":"hello from the upstream","seq":1234}',
);

const argv = process.argv.slice(2);
const num = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const ROUNDS = num('rounds', 40);
const WARMUP = num('warmup', 5);
const BATCH = num('batch', 2000);
const CONNS = num('conns', 16);
const PATH = argv.includes('--path') ? argv[argv.indexOf('--path') + 1] : '/echo';
const specs = argv.flatMap((a, i) => (a === '--row' ? [argv[i + 1]] : []));
const rows = (
  specs.length > 0
    ? specs
    : [
        'direct=direct',
        'none=',
        'key-auth=key-auth',
        'key-auth+rate-limiting=key-auth,rate-limiting',
        'proxy-cache=proxy-cache',
      ]
).map((spec) => {
  const eq = spec.indexOf('=');
  if (eq < 0) throw new Error(`--row ${spec}: expected LABEL=PLUGINS[@DIST]`);
  const [plugins, dist] = spec.slice(eq + 1).split('@');
  return { label: spec.slice(0, eq), plugins, dist: dist ?? 'data-plane/dist', samples: [] };
});

const upstream = createHttpServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': BODY.length });
  res.end(BODY);
});
await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
const upstreamPort = upstream.address().port;

const { completeConfig, createLogger } = await import(join(root, 'shared/dist/index.js'));
const proxies = [];
for (const row of rows) {
  let port = upstreamPort;
  if (row.plugins !== 'direct') {
    const dpDist = resolve(root, row.dist);
    const { ProxyServer } = await import(join(dpDist, 'proxy/proxy-server.js'));
    const { loadPluginRegistry } = await import(join(dpDist, 'plugins/index.js'));
    const proxy = new ProxyServer({
      logger: createLogger('plugin-cost', { level: 'warn' }),
      plugins: await loadPluginRegistry(),
    });
    proxy.apply(completeConfig(benchConfig({ upstreamPort, plugins: row.plugins, apiKey: API_KEY })));
    port = await freePort();
    await proxy.listen(port, '127.0.0.1');
    proxies.push(proxy);
  }
  row.client = new Client(port, CONNS);
}

for (let round = 0; round < WARMUP + ROUNDS; round += 1) {
  // A new order each round: no row always follows the same one (and pays its garbage).
  for (const row of shuffled(rows)) {
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await row.client.run(BATCH);
    const cpu = process.cpuUsage(cpu0);
    const wallNs = Number(process.hrtime.bigint() - t0);
    if (round >= WARMUP) {
      row.samples.push((cpu.user + cpu.system) / BATCH);
      (row.rps ??= []).push((BATCH * 1e9) / wallNs);
    }
  }
  if (round % 5 === 4) process.stderr.write(`round ${round + 1}/${WARMUP + ROUNDS}\n`);
}

for (const row of rows) row.client.close();
for (const proxy of proxies) await proxy.close();
upstream.close();

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const quartiles = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return [s[Math.floor(s.length / 4)], s[Math.floor((3 * s.length) / 4)]];
};
const direct = rows.find((r) => r.plugins === 'direct');
const directUs = direct === undefined ? 0 : median(direct.samples);
const none =
  rows.find((r) => r.plugins === '' && r.dist === 'data-plane/dist') ?? rows.find((r) => r.plugins === '');
/** A row's proxy share over none's, round by round (the batches of one round ran side by side). */
const ratios = (row) =>
  row.samples.map((us, i) => {
    const d = direct === undefined ? 0 : direct.samples[i];
    return (us - d) / (none.samples[i] - d);
  });
const pct = (r) => `${r >= 1 ? '+' : ''}${((r - 1) * 100).toFixed(1)} %`;
console.log(
  `\none process (client + ${proxies.length} proxies + upstream), ${CONNS} connections, rows in turn (random order): ${ROUNDS} rounds of ${BATCH} requests each (after ${WARMUP} warm-up rounds)\n`,
);
console.log(
  `| row | process CPU µs/req median (IQR) | proxy share µs/req | vs ${none?.label ?? 'no plugin'}, median of per-round ratios (IQR) | req/s (median) |`,
);
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const row of rows) {
  const us = median(row.samples);
  const [q1, q3] = quartiles(row.samples);
  const isDirect = row.plugins === 'direct';
  let vs = '—';
  if (!isDirect && none !== undefined) {
    const [r1, r3] = quartiles(ratios(row));
    vs = `${pct(median(ratios(row)))} (${pct(r1)} … ${pct(r3)})`;
  }
  console.log(
    `| ${row.label} | ${us.toFixed(1)} (${q1.toFixed(1)}–${q3.toFixed(1)}) | ${isDirect ? '—' : (us - directUs).toFixed(1)} | ${vs} | ${median(row.rps).toFixed(0)} |`,
  );
}
process.exit(0);

function shuffled(list) {
  const out = [...list];
  for (let i = out.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * Keep-alive connections to one port; `run(n)` sends n GET /echo in a closed loop. A connection
 * the server closes (its keep-alive timeout, while other rows had their turn) is opened again,
 * and a request it had in flight is sent again.
 */
function Client(port, conns) {
  const request = Buffer.from(
    `GET ${PATH} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUser-Agent: bench\r\nAccept: */*\r\nx-api-key: ${API_KEY}\r\n\r\n`,
    'latin1',
  );
  let left = 0;
  let pending = 0;
  let done = null;
  let fail = null;
  let closing = false;
  const connections = [];
  const send = (c) => {
    if (left === 0) return;
    left -= 1;
    pending += 1;
    c.busy = true;
    c.socket.write(request);
  };
  const open = (c) => {
    const socket = connect(port, '127.0.0.1');
    c.socket = socket;
    socket.setNoDelay(true);
    socket.setEncoding('latin1');
    let buf = '';
    let need = -1; // the current response's length once its head is in
    socket.on('data', (chunk) => {
      buf += chunk;
      for (;;) {
        if (need < 0) {
          const end = buf.indexOf('\r\n\r\n');
          if (end < 0) return;
          const head = buf.slice(0, end);
          const length = /\r\ncontent-length: *(\d+)/i.exec(head);
          if (!head.startsWith('HTTP/1.1 200') || length === null) {
            fail?.(new Error(`unexpected answer from port ${port}: ${head}`));
            return;
          }
          need = end + 4 + Number(length[1]);
        }
        if (buf.length < need) return;
        buf = buf.slice(need);
        need = -1;
        c.busy = false;
        pending -= 1;
        if (left > 0) send(c);
        else if (pending === 0) done?.();
      }
    });
    socket.on('error', () => undefined); // 'close' follows
    socket.on('close', () => {
      if (closing) return;
      open(c);
      if (c.busy) c.socket.write(request);
    });
  };
  for (let i = 0; i < conns; i += 1) {
    const c = { socket: null, busy: false };
    open(c);
    connections.push(c);
  }
  this.run = (n) =>
    new Promise((resolveRun, rejectRun) => {
      left = n;
      done = resolveRun;
      fail = rejectRun;
      for (const c of connections) send(c);
    });
  this.close = () => {
    closing = true;
    for (const c of connections) c.socket.destroy();
  };
}

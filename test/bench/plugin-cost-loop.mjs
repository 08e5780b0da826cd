#!/usr/bin/env node
// Benchmark (not a test): what a plugin set costs per request, measured in ONE process that holds
// the client, the proxy (ProxyServer from data-plane/dist, as gatehouse-candidate.mjs builds it)
// and the upstream, over real loopback sockets. The process is never idle (a closed loop of
// CONNS keep-alive connections, each sending its next request when the last answer is in), so its
// CPU time per request does not depend on what a busy shared box leaves to a separate load
// generator. A `direct` row (client → upstream, no proxy) gives what the client and the upstream
// cost; a row's proxy share is its figure minus direct's.
//
//   node test/bench/plugin-cost-loop.mjs [--reps 5] [--requests 40000] [--warmup 20000] [--conns 16] \
//     [--row LABEL=PLUGINS[@DIST]]...
//
// PLUGINS as GATEHOUSE_PLUGIN of gatehouse-candidate.mjs ('' = the proxy with no plugin;
// 'direct' = no proxy). DIST: another build of data-plane/dist (relative to the repository), for a
// before/after comparison in one sitting. Each row × rep runs in a fresh child process pinned to
// one core (cpu1), rows interleaved; the table shows medians.
// Default rows: direct, none, key-auth, key-auth+rate-limiting, proxy-cache.
import { spawn } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { connect } from 'node:net';
import { freePort } from './lib/processes.mjs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

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

if (process.env.PLUGIN_COST_CHILD !== undefined) await child(JSON.parse(process.env.PLUGIN_COST_CHILD));
else await parent();

async function parent() {
  const reps = num('reps', 5);
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
    return { label: spec.slice(0, eq), plugins, dist: dist ?? 'data-plane/dist', runs: [] };
  });
  const job = {
    requests: num('requests', 40_000),
    warmup: num('warmup', 20_000),
    conns: num('conns', 16),
  };
  for (let rep = 0; rep < reps; rep += 1)
    for (const row of rows) {
      process.stderr.write(`rep ${rep + 1}/${reps}: ${row.label}\n`);
      row.runs.push(await runChild({ ...job, plugins: row.plugins, dist: row.dist }));
    }
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  };
  const direct = rows.find((r) => r.plugins === 'direct');
  const directUs = direct === undefined ? 0 : median(direct.runs.map((r) => r.usPerReq));
  const none = rows.find((r) => r.plugins === '');
  const noneProxy = none === undefined ? null : median(none.runs.map((r) => r.usPerReq)) - directUs;
  console.log(
    `\none process (client + proxy + upstream) on cpu1, ${job.conns} connections, ${job.requests} requests per run after ${job.warmup} warm-up; ${reps} reps, interleaved\n`,
  );
  console.log('| row | process CPU µs/req median (all) | proxy share µs/req | vs no plugin |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const row of rows) {
    const us = median(row.runs.map((r) => r.usPerReq));
    const all = row.runs.map((r) => r.usPerReq.toFixed(1)).join(', ');
    const isDirect = row.plugins === 'direct';
    const proxy = isDirect ? '—' : (us - directUs).toFixed(1);
    const vs =
      isDirect || noneProxy === null ? '—' : `${(((us - directUs) / noneProxy - 1) * 100).toFixed(1)} %`;
    console.log(`| ${row.label} | ${us.toFixed(1)} (${all}) | ${proxy} | ${vs} |`);
  }
}

function runChild(job) {
  return new Promise((resolvePromise, reject) => {
    const p = spawn('taskset', ['-c', '1', process.execPath, fileURLToPath(import.meta.url)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, PLUGIN_COST_CHILD: JSON.stringify(job) },
    });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('close', (code) => {
      if (code !== 0) return reject(new Error(`child exited ${code}: ${out}`));
      resolvePromise(JSON.parse(out.trim().split('\n').pop()));
    });
  });
}

async function child(job) {
  const upstream = createHttpServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': BODY.length });
    res.end(BODY);
  });
  await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
  const upstreamPort = upstream.address().port;
  let port = upstreamPort;
  let proxy = null;
  if (job.plugins !== 'direct') {
    proxy = await startProxy(job, upstreamPort);
    port = proxy.port;
  }
  const request = Buffer.from(
    `GET /echo HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUser-Agent: bench\r\nAccept: */*\r\nx-api-key: ${API_KEY}\r\n\r\n`,
    'latin1',
  );
  await load(port, request, job.conns, job.warmup);
  const cpu0 = process.cpuUsage();
  await load(port, request, job.conns, job.requests);
  const cpu = process.cpuUsage(cpu0);
  const usPerReq = (cpu.user + cpu.system) / job.requests;
  await proxy?.close();
  upstream.close();
  console.log(JSON.stringify({ usPerReq }));
  process.exit(0);
}

/** The proxy of gatehouse-candidate.mjs, in this process. */
async function startProxy(job, upstreamPort) {
  const dpDist = resolve(root, job.dist);
  const { ProxyServer } = await import(join(dpDist, 'proxy/proxy-server.js'));
  const { loadPluginRegistry } = await import(join(dpDist, 'plugins/index.js'));
  const { completeConfig, createLogger } = await import(join(root, 'shared/dist/index.js'));
  const { benchConfig } = await import(join(here, 'lib/bench-config.mjs'));
  const proxy = new ProxyServer({
    logger: createLogger('plugin-cost', { level: 'warn' }),
    plugins: await loadPluginRegistry(),
  });
  proxy.apply(completeConfig(benchConfig({ upstreamPort, plugins: job.plugins, apiKey: API_KEY })));
  const port = await freePort();
  await proxy.listen(port, '127.0.0.1');
  return { port, close: () => proxy.close() };
}

/** Sends `total` requests over `conns` keep-alive connections, one at a time on each. */
function load(port, request, conns, total) {
  return new Promise((resolveLoad, reject) => {
    let sent = 0;
    let done = 0;
    let open = conns;
    for (let c = 0; c < conns; c += 1) {
      const socket = connect(port, '127.0.0.1');
      socket.setNoDelay(true);
      let buf = '';
      let need = -1; // bytes of the current response still to come once its head is in
      const next = () => {
        if (sent >= total) {
          socket.end();
          return;
        }
        sent += 1;
        socket.write(request);
      };
      socket.on('connect', next);
      socket.setEncoding('latin1');
      socket.on('data', (chunk) => {
        buf += chunk;
        for (;;) {
          if (need < 0) {
            const end = buf.indexOf('\r\n\r\n');
            if (end < 0) return;
            const head = buf.slice(0, end);
            if (!head.startsWith('HTTP/1.1 200')) return reject(new Error(`unexpected answer: ${head}`));
            const m = /\r\ncontent-length: *(\d+)/i.exec(head);
            if (m === null) return reject(new Error(`no content-length: ${head}`));
            need = end + 4 + Number(m[1]);
          }
          if (buf.length < need) return;
          buf = buf.slice(need);
          need = -1;
          done += 1;
          next();
        }
      });
      socket.on('error', reject);
      socket.on('close', () => {
        open -= 1;
        if (open === 0) {
          if (done >= total) resolveLoad();
          else reject(new Error(`connections closed after ${done} of ${total} answers`));
        }
      });
    }
  });
}

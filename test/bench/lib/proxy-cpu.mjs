// The in-process CPU loop the observability benchmarks share (tracing-cpu, metrics-cost,
// observability-cost): ProxyServers (one per variant, from the built data-plane/dist) in THIS
// process; the upstream, the load client and an OTLP sink in child processes, so this process's
// CPU (process.cpuUsage: user + system, all its threads) is the proxy's own. Variants are measured
// in interleaved rounds, so load from others on the shared machine falls on every variant alike;
// medians are reported as CPU µs per request and as a change against the first variant.
import { fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import {
  completeConfig,
  createLogger,
  ROUTE_DEFAULTS,
  SERVICE_DEFAULTS,
} from '../../../shared/dist/index.js';
import { ROOT } from './processes.mjs';

export const DP = join(ROOT, 'data-plane', 'dist');
export const dp = (path) => import(join(DP, path));
export const silentLogger = createLogger('bench', { level: 'silent' });

/** A child process that prints the port it listens on (first line of its stdout). */
export async function childServer(code) {
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = await once(child.stdout, 'data');
  return { port: Number(String(line).trim()), kill: () => child.kill() };
}

/** An HTTP/1.1 upstream answering `ok` (keep-alive), in a child process. */
export const startUpstream = () =>
  childServer(
    `const s=require('http').createServer((q,r)=>r.end('ok'));s.keepAliveTimeout=60000;` +
      `s.listen(0,'127.0.0.1',()=>console.log(s.address().port))`,
  );

/** An OTLP/HTTP sink that accepts and discards every export, in a child process. */
export async function startOtlpSink() {
  const s = await childServer(
    `require('http').createServer((q,s)=>{q.resume();q.on('end',()=>s.end())})` +
      `.listen(0,'127.0.0.1',function(){console.log(this.address().port)})`,
  );
  return { url: `http://127.0.0.1:${s.port}`, kill: s.kill };
}

/** One service and one route (`/api`) to the upstream on `port`. */
export function oneRouteConfig(port, plugins = []) {
  return completeConfig({
    services: [
      { ...SERVICE_DEFAULTS, id: 's', name: 's', host: '127.0.0.1', port, created_at: 0, updated_at: 0 },
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
    plugins,
  });
}

/**
 * Starts a ProxyServer (of the data-plane build `dist`, this checkout's by default) with `options`
 * (observers, tracer, plugins…) serving `config`; returns its URL.
 */
export async function startProxy(config, options = {}, dist = DP) {
  const { ProxyServer } = await import(join(dist, 'proxy', 'proxy-server.js'));
  const proxy = new ProxyServer({ logger: silentLogger, ...options });
  await proxy.listen(0, '127.0.0.1');
  proxy.apply(config);
  return { proxy, url: `http://127.0.0.1:${proxy.server.address().port}` };
}

const CLIENT = join(ROOT, 'test', 'bench', 'lib', 'load-client.mjs');

/**
 * Measures `variants` ([name, {url}] pairs): `rounds` interleaved rounds of `requests` GETs of
 * `path` (keep-alive, `concurrency` at a time, `headers` sent) from the child client; returns
 * Map name -> CPU µs per request of this process, one per round.
 */
export async function measureCpu(
  variants,
  { requests, rounds, concurrency = 16, path = '/api/x', headers = {} },
) {
  const client = fork(CLIENT, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const run = async (url, n) => {
    client.send({ url: url + path, n, concurrency, headers });
    const [reply] = await once(client, 'message');
    if (reply.error) throw new Error(`load client: ${reply.error}`);
  };
  for (const [, v] of variants) await run(v.url, Math.min(2000, requests)); // warm-up
  const out = new Map(variants.map(([name]) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const [name, v] of variants) {
      const before = process.cpuUsage();
      await run(v.url, requests);
      const d = process.cpuUsage(before);
      out.get(name).push((d.user + d.system) / requests);
    }
  }
  client.kill();
  return out;
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const change = (m, base) =>
  m === base
    ? ''.padEnd(22)
    : `${m >= base ? '+' : ''}${(m - base).toFixed(1)} µs (${(((m - base) / base) * 100).toFixed(1)} %)`.padEnd(
        22,
      );

/**
 * Prints, per variant, the median and the lowest round (the least disturbed by neighbours on a
 * shared box), each against its base: `baseOf(name)` names it (default: the first variant).
 */
export function report(results, title, baseOf = null) {
  console.log(title);
  console.log(`  ${'variant'.padEnd(48)} ${'median'.padStart(7)} ${''.padEnd(22)} ${'lowest'.padStart(7)}`);
  const first = results.keys().next().value;
  for (const [name, xs] of results) {
    const m = median(xs);
    const low = Math.min(...xs);
    const b = results.get(baseOf?.(name) ?? first);
    const base = { m: median(b), low: Math.min(...b) };
    console.log(
      `  ${name.padEnd(48)} ${m.toFixed(1).padStart(7)} ${change(m, base.m)} ${low.toFixed(1).padStart(7)} ${change(low, base.low)}  rounds: ${xs.map((x) => x.toFixed(1)).join(' ')}`,
    );
  }
  console.log('  (proxy CPU µs per request)');
}

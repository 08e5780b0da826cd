#!/usr/bin/env node
/**
 * In-process A/B of the plain proxied request (no plugins) between builds: one ProxyServer per
 * repository root given (each from its own built data-plane/dist, with the gatehouse_* request
 * metrics observer, as a DP worker has by default) and the floor (lib/floor-proxy.mjs's handler:
 * bare node:http → undici), in THIS process; upstream and load client in child processes
 * (lib/proxy-cpu.mjs), so process.cpuUsage is the proxies' CPU. Many short interleaved rounds,
 * medians: the box is shared, compare CPU µs per request only within one run.
 *
 * Usage: node test/bench/proxy-ab.mjs [--root name=/path …] [--requests 3000] [--rounds 15]
 * Default root: this repository, named `branch`. Build each root first.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { measureCpu, oneRouteConfig, report, silentLogger, startUpstream } from './lib/proxy-cpu.mjs';
import { ROOT } from './lib/processes.mjs';
import { startFloor } from './lib/floor-proxy.mjs';

const { values } = parseArgs({
  options: {
    root: { type: 'string', multiple: true },
    requests: { type: 'string', default: '3000' },
    rounds: { type: 'string', default: '15' },
    concurrency: { type: 'string', default: '32' },
  },
});
const upstream = await startUpstream();
const config = oneRouteConfig(upstream.port);
const variants = [];
for (const spec of values.root ?? [`branch=${ROOT}`]) {
  const [name, root] = spec.split('=');
  const dist = join(root, 'data-plane', 'dist');
  const { ProxyServer } = await import(join(dist, 'proxy', 'proxy-server.js'));
  const { RequestMetrics } = await import(join(dist, 'observe', 'request-metrics.js'));
  const proxy = new ProxyServer({ logger: silentLogger, observers: [new RequestMetrics()] });
  await proxy.listen(0, '127.0.0.1');
  proxy.apply(config);
  variants.push([name, { proxy, url: `http://127.0.0.1:${proxy.server.address().port}` }]);
}
const floor = await startFloor(0, upstream.port);
variants.push(['floor (node:http → undici)', { proxy: floor, url: `http://127.0.0.1:${floor.port}` }]);
report(
  await measureCpu(variants, {
    requests: Number(values.requests),
    rounds: Number(values.rounds),
    concurrency: Number(values.concurrency),
  }),
  `plain proxied GET, proxy CPU µs per request (median of ${values.rounds} interleaved rounds of ${values.requests}):`,
);
for (const [, v] of variants) await v.proxy.close();
upstream.kill();

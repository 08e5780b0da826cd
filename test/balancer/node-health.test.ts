/**
 * Target health on a real data plane (primary + 2 worker processes): the active checks run once
 * per node, in the primary, and every worker follows the health it sends; a passive change seen
 * by one worker reaches the others through the primary.
 */
import { mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDataPlane, type DataPlane } from '@gatehouse/data-plane';
import { completeConfig, createLogger, type GatehouseConfig, type Upstream } from '@gatehouse/shared';
import { httpGet } from '../dp/helpers/fixtures.js';
import { route, service } from '../proxy/helpers.js';
import { eventually, namedServer, target, upstream, type Answer, type NamedServer } from './fixtures.js';

const logger = createLogger('node-health-test', { level: process.env.GATEHOUSE_TEST_LOG_LEVEL ?? 'silent' });
const INTERVAL_S = 0.1;

/**
 * The process (among `pids`) holding the client end of a TCP connection to us from 127.0.0.1,
 * found through /proc: the socket whose local port is `clientPort`, then the process with it open.
 */
async function processOf(clientPort: number, pids: number[]): Promise<number | null> {
  const hexPort = `:${clientPort.toString(16).toUpperCase().padStart(4, '0')}`;
  const row = (await readFile('/proc/net/tcp', 'utf8'))
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .find((f) => f[1]?.endsWith(hexPort));
  if (row === undefined) return null;
  const socket = `socket:[${row[9]}]`;
  for (const pid of pids) {
    for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [])) {
      if ((await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')) === socket) return pid;
    }
  }
  return null;
}

type Healthchecks = Upstream['healthchecks'];

function balanced(healthchecks: Healthchecks, addresses: string[]): GatehouseConfig {
  const up = upstream('u-node', 'pool.node', { healthchecks });
  return completeConfig({
    services: [service('svc', 80, { host: up.name, retries: 0, connect_timeout: 2_000 })],
    routes: [route('r', 'svc', { paths: ['/'] })],
    upstreams: [up],
    targets: addresses.map((a, i) => target(`t${i}`, up.id, a)),
  });
}

function active(): Healthchecks {
  const base = upstream('x', 'x').healthchecks;
  return {
    ...base,
    active: {
      ...base.active,
      http_path: '/health',
      // A probe waits for its answer while the test finds the process that sent it (/proc):
      // 5 s, so a busy box cannot time the probe out and close its socket before that.
      timeout: 5,
      healthy: { ...base.active.healthy, interval: INTERVAL_S, successes: 1 },
      unhealthy: { ...base.active.unhealthy, interval: 0, http_failures: 1 },
    },
  };
}

function passive(): Healthchecks {
  const base = upstream('x', 'x').healthchecks;
  return {
    ...base,
    passive: {
      ...base.passive,
      unhealthy: { ...base.passive.unhealthy, http_statuses: [500], http_failures: 1 },
    },
  };
}

describe('target health on a data plane with two workers', () => {
  let dir: string;
  let good: NamedServer;
  let bad: NamedServer;
  /** The process each health probe came from, per server (null: not found). */
  const probes = new Map<string, (number | null)[]>();
  let dp: DataPlane | null = null;

  const answering =
    (name: string, healthStatus: number, status: number) =>
    (req: IncomingMessage, res: ServerResponse): boolean => {
      if (req.url === '/health') {
        // The prober waits for the answer, so its socket is still open while we look it up.
        const pids = dp === null ? [] : [process.pid, ...dp.pool.workerPids];
        void processOf(req.socket.remotePort!, pids).then((pid) => {
          probes.get(name)!.push(pid);
          res.writeHead(healthStatus, { 'content-length': 0 }).end();
        });
        return true;
      }
      if (status === 200) return false;
      res.writeHead(status, { 'content-length': 0 }).end();
      return true;
    };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-node-health-'));
    probes.set('good', []).set('bad', []);
    good = await namedServer('good', answering('good', 200, 200));
    bad = await namedServer('bad', answering('bad', 500, 500));
  });
  afterEach(async () => {
    await dp?.stop();
    dp = null;
    for (const list of probes.values()) list.length = 0;
  });
  afterAll(async () => {
    await good.close();
    await bad.close();
    await rm(dir, { recursive: true, force: true });
  });

  const start = async (config: GatehouseConfig): Promise<DataPlane> => {
    const file = join(dir, 'kong.yaml');
    await writeFile(file, '_format_version: "3.0"\n');
    dp = await startDataPlane({
      declarativeFile: file,
      loadDeclarative: async () => config,
      dataDir: join(dir, 'data'),
      workers: 2,
      proxyListen: { host: '127.0.0.1', port: 0 },
      statusListen: { host: '127.0.0.1', port: 0 },
      logger,
      drainTimeoutMs: 1_000,
    });
    expect(dp.pool.serving).toBe(2);
    return dp;
  };

  /** Requests on fresh connections (node:cluster deals them to the workers in turn). */
  const answers = async (port: number, n: number): Promise<string[]> => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const a = await httpGet(port, '/x');
      out.push(a.status === 200 ? (JSON.parse(a.body) as Answer).server : String(a.status));
    }
    return out;
  };

  it('probes each target from one process per node, the primary (not one prober per process)', async () => {
    await start(balanced(active(), [`127.0.0.1:${good.port}`]));
    const seen = probes.get('good')!;
    // Enough intervals for every process that probes to have probed several times.
    // A probe whose socket was gone before it was looked up is unknown (null): CI saw one on a
    // busy box. Every probe whose process is known must be the primary's.
    const known = () => seen.filter((pid) => pid !== null);
    await eventually(() => known().length >= 12, 20_000);
    expect(new Set(known())).toEqual(new Set([process.pid]));
  });

  it('a target the primary marks down stops receiving traffic from every worker', async () => {
    const node = await start(balanced(active(), [`127.0.0.1:${good.port}`, `127.0.0.1:${bad.port}`]));
    await eventually(() => node.health.health()['pool.node']?.[`127.0.0.1:${bad.port}`] === false, 10_000);
    expect(await answers(node.proxyPort()!, 12)).toEqual(Array(12).fill('good'));
  });

  it("a worker's passive health change reaches every worker through the primary", async () => {
    const node = await start(balanced(passive(), [`127.0.0.1:${good.port}`, `127.0.0.1:${bad.port}`]));
    const port = node.proxyPort()!;
    // Until some worker has sent a request to `bad` and seen its 500.
    await eventually(async () => (await answers(port, 1))[0] === '500', 10_000);
    await eventually(() => node.health.health()['pool.node']?.[`127.0.0.1:${bad.port}`] === false);
    // The other worker never saw `bad` fail itself, yet sends it nothing either.
    expect(await answers(port, 12)).toEqual(Array(12).fill('good'));
  });
});

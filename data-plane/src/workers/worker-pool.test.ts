import { request } from 'node:http';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, emptyConfig, type GatehouseConfig } from '@gatehouse/shared';
import { WorkerPool } from './worker-pool.js';

const logger = createLogger('test', { level: 'silent' });
const exec = fileURLToPath(new URL('./fixtures/echo-worker.ts', import.meta.url));

function config(...names: string[]): Buffer {
  const c: GatehouseConfig = emptyConfig();
  for (const name of names) c.services.push({ name } as GatehouseConfig['services'][number]);
  return Buffer.from(JSON.stringify(c));
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

interface Answer {
  pid: number;
  worker: number;
  services: string[];
  /** Configs this worker swapped in so far. */
  swaps: number;
}

/** Configs swapped in so far, per worker pid (from one answer of each). */
const swapsOf = (answers: Answer[]) => Object.fromEntries(answers.map((a) => [a.pid, a.swaps] as const));

/** One request on a fresh connection (so round-robin spreads them over the workers). */
function get(port: number, path = '/'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(JSON.parse(body) as Answer));
    });
    req.on('error', reject);
    req.end();
  });
}

async function sample(port: number, n = 12): Promise<Answer[]> {
  const out: Answer[] = [];
  for (let i = 0; i < n; i += 1) out.push(await get(port));
  return out;
}

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not met in time');
}

describe('WorkerPool', () => {
  let pool: WorkerPool | null = null;
  afterEach(async () => {
    await pool?.stop();
    pool = null;
  });

  async function startPool(port: number, extra: Partial<ConstructorParameters<typeof WorkerPool>[0]> = {}) {
    pool = new WorkerPool({
      size: 2,
      listen: { host: '127.0.0.1', port },
      logger,
      exec,
      execArgv: ['--import', 'tsx'],
      applyTimeoutMs: 5_000,
      drainTimeoutMs: 2_000,
      ...extra,
    });
    await pool.start();
    return pool;
  }

  it('listens from start with no config (answering with none), and every worker serves the first once apply resolves', async () => {
    const port = await freePort();
    const p = await startPool(port);
    expect(p.alive).toBe(2);
    expect(p.port).toBe(port);
    expect(p.serving).toBe(0);
    const before = await sample(port);
    expect(new Set(before.map((a) => a.pid)).size).toBe(2);
    expect(before.every((a) => a.services.length === 0)).toBe(true);
    await p.apply(config('v1'), { version: 1n, hash: 'h1' });
    expect(p.serving).toBe(2);
    expect(p.port).toBe(port);
    const answers = await sample(port);
    expect(new Set(answers.map((a) => a.pid)).size).toBe(2);
    expect(answers.every((a) => a.services[0] === 'v1')).toBe(true);
  });

  it('gives a config applied while the workers boot to each before it listens: no answer without it', async () => {
    const port = await freePort();
    pool = new WorkerPool({
      size: 2,
      listen: { host: '127.0.0.1', port },
      logger,
      exec,
      execArgv: ['--import', 'tsx'],
    });
    const booting = pool.start();
    await pool.apply(config('v1'), { version: 1n, hash: 'h1' });
    await booting;
    const answers = await sample(port);
    expect(answers.every((a) => a.services[0] === 'v1' && a.swaps === 1)).toBe(true);
  });

  it('lets the workers listen without a config when the first one, applied while they boot, fails', async () => {
    const port = await freePort();
    pool = new WorkerPool({
      size: 1,
      listen: { host: '127.0.0.1', port },
      logger,
      exec,
      execArgv: ['--import', 'tsx'],
      bootTimeoutMs: 10_000,
    });
    const booting = pool.start();
    // Whatever its id in this process, the one worker cannot compile it.
    const bad = config(...Array.from({ length: 64 }, (_, i) => `fail-in-worker-${i + 1}`));
    await expect(pool.apply(bad, { version: 1n, hash: 'h1' })).rejects.toThrow(/cannot compile this/);
    await booting;
    const answers = await sample(port, 2);
    expect(answers.every((a) => a.services.length === 0)).toBe(true);
    await pool.apply(config('v2'), { version: 2n, hash: 'h2' });
    expect((await sample(port, 2)).every((a) => a.services[0] === 'v2')).toBe(true);
  });

  it('resolves a new round only after every worker swapped', async () => {
    const port = await freePort();
    const p = await startPool(port);
    await p.apply(config('v1'), { version: 1n, hash: 'h1' });
    await p.apply(config('v2'), { version: 2n, hash: 'h2' });
    expect(p.currentConfig).toEqual({ version: 2n, hash: 'h2' });
    const answers = await sample(port);
    expect(answers.every((a) => a.services[0] === 'v2')).toBe(true);
  });

  it('rejects with the reason when one worker fails to compile, and no worker swaps the config in', async () => {
    const port = await freePort();
    const p = await startPool(port);
    await p.apply(config('v1'), { version: 1n, hash: 'h1' });
    // Worker 2 (the second forked in this process) fails on the config; worker 1 compiles it.
    const before = await sample(port);
    const ids = [...new Set(before.map((a) => a.worker))].sort((a, b) => a - b);
    const failing = ids[1]!;
    const failed = p.apply(config('v2', `fail-in-worker-${failing}`), { version: 2n, hash: 'h2' });
    await expect(failed).rejects.toThrow(new RegExp(`worker \\d+: worker ${failing} cannot compile this`));
    // A worker that fails without a Gatehouse error code failed itself: an apply failure.
    await expect(failed).rejects.toMatchObject({ code: 'GH_ERR_DP_CONFIG_APPLY' });
    expect(p.currentConfig).toEqual({ version: 1n, hash: 'h1' });
    const answers = await sample(port);
    expect(answers.every((a) => a.services[0] === 'v1')).toBe(true);
    // Compiled by one, refused by the other: neither swapped (no swap in, no swap back).
    expect(swapsOf(answers)).toEqual(swapsOf(before));
    expect(p.alive).toBe(2);
    // The worker that compiled it dropped it: the next round applies everywhere.
    await p.apply(config('v3'), { version: 3n, hash: 'h3' });
    expect((await sample(port)).every((a) => a.services[0] === 'v3')).toBe(true);
  });

  it('fails a round in which a worker dies while compiling (an apply failure, no worker swapped); its replacement serves the old config', async () => {
    const port = await freePort();
    const p = await startPool(port);
    await p.apply(config('v1'), { version: 1n, hash: 'h1' });
    const before = await sample(port);
    const ids = [...new Set(before.map((a) => a.worker))].sort((a, b) => a - b);
    const failed = p.apply(config('v2', `exit-in-worker-${ids[1]}`), { version: 2n, hash: 'h2' });
    await expect(failed).rejects.toMatchObject({
      code: 'GH_ERR_DP_CONFIG_APPLY',
      message: expect.stringMatching(/^config 2 not applied: worker \d+ exited \(code 3/) as unknown,
    });
    expect(p.currentConfig).toEqual({ version: 1n, hash: 'h1' });
    await waitFor(() => p.restartCount === 1 && p.alive === 2 && p.serving === 2);
    const answers = await sample(port, 16);
    expect(answers.every((a) => a.services[0] === 'v1')).toBe(true);
    // The surviving worker never swapped v2 in.
    const survivor = before.find((a) => a.worker === ids[0])!;
    expect(answers.find((a) => a.pid === survivor.pid)?.swaps).toBe(survivor.swaps);
  });

  it('refuses a config a worker cannot compile as a compile error of the config (the primary does not compile it)', async () => {
    const port = await freePort();
    const p = await startPool(port);
    await p.apply(config('v1'), { version: 1n, hash: 'h1' });
    const ids = [...new Set((await sample(port)).map((a) => a.worker))].sort((a, b) => a - b);
    const refusing = ids[1]!;
    const refused = p.apply(config('v2', `refuse-in-worker-${refusing}`), { version: 2n, hash: 'h2' });
    await expect(refused).rejects.toMatchObject({
      code: 'GH_ERR_DP_CONFIG_COMPILE',
      message: expect.stringMatching(
        new RegExp(`^config 2 does not compile: worker \\d+: worker ${refusing} finds this config invalid$`),
      ) as unknown,
    });
    expect(p.currentConfig).toEqual({ version: 1n, hash: 'h1' });
    expect((await sample(port)).every((a) => a.services[0] === 'v1')).toBe(true);
    expect(p.alive).toBe(2);
  });

  it('runs the check (the primary compile) on the node part a worker sent back; when it throws, the round fails with its error and no worker swaps', async () => {
    const port = await freePort();
    const p = await startPool(port);
    await p.apply(config('v1'), { version: 1n, hash: 'h1' });
    const before = await sample(port);
    const refusal = new Error('the primary cannot compile this');
    const seen: unknown[] = [];
    await expect(
      p.apply(config('v2'), { version: 2n, hash: 'h2' }, (node) => {
        seen.push(node);
        throw refusal;
      }),
    ).rejects.toBe(refusal);
    expect(seen).toEqual([
      {
        upstreams: [],
        targets: [],
        usesClusterPolicy: false,
        kongExport: { enabled: false, upstreamHealth: false },
      },
    ]);
    expect(p.currentConfig).toEqual({ version: 1n, hash: 'h1' });
    const answers = await sample(port);
    expect(answers.every((a) => a.services[0] === 'v1')).toBe(true);
    expect(swapsOf(answers)).toEqual(swapsOf(before));
    expect(p.alive).toBe(2);
    await p.apply(config('v3'), { version: 3n, hash: 'h3' }, () => undefined);
    expect((await sample(port)).every((a) => a.services[0] === 'v3')).toBe(true);
  });

  it('rejects a round a worker does not answer in time and replaces that worker', async () => {
    const port = await freePort();
    const p = await startPool(port, { applyTimeoutMs: 1_000 });
    await p.apply(config('v1'), { version: 1n, hash: 'h1' });
    const ids = [...new Set((await sample(port)).map((a) => a.worker))].sort((a, b) => a - b);
    await expect(
      p.apply(config('v2', `hang-in-worker-${ids[0]}`), { version: 2n, hash: 'h2' }),
    ).rejects.toThrow(/timed out/);
    // The stuck worker is killed; wait until its exit is seen and its replacement serves.
    await waitFor(() => p.restartCount === 1 && p.alive === 2 && p.serving === 2);
    const answers = await sample(port);
    expect(answers.every((a) => a.services[0] === 'v1')).toBe(true);
  });

  it('replaces a killed worker, which serves the current config before taking traffic', async () => {
    const port = await freePort();
    const p = await startPool(port);
    await p.apply(config('v1'), { version: 1n, hash: 'h1' });
    await p.apply(config('v2'), { version: 2n, hash: 'h2' });
    const [victim] = p.workerPids;
    process.kill(victim!, 'SIGKILL');
    await waitFor(() => p.restartCount === 1 && p.alive === 2 && p.serving === 2);
    expect(p.workerPids).not.toContain(victim);
    const answers = await sample(port, 16);
    expect(new Set(answers.map((a) => a.pid)).size).toBe(2);
    expect(answers.every((a) => a.services[0] === 'v2')).toBe(true);
  });

  it('stops gracefully: an in-flight request completes, then nothing listens', async () => {
    const port = await freePort();
    const p = await startPool(port);
    await p.apply(config('v1'), { version: 1n, hash: 'h1' });
    const inflight = get(port, '/slow?ms=400');
    await new Promise((r) => setTimeout(r, 100));
    const stopped = p.stop();
    const answer = await inflight;
    expect(answer.services).toEqual(['v1']);
    await stopped;
    expect(p.alive).toBe(0);
    await expect(get(port)).rejects.toThrow(/ECONNREFUSED/);
  });
});

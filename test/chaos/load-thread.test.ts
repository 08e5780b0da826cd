/**
 * The chaos load in a thread of its own keeps sending while the runner's main thread is blocked
 * (as a spawn blocks it until the child has exec'd): requests are counted by a server in another
 * thread while the main thread waits synchronously. On the main thread (openLoop) the count
 * would be 0. The record comes back on the caller's clock.
 */
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLoopInThread } from './load-thread.js';
import { summarize } from './load.js';

const SERVER = `
const { workerData, parentPort } = require('node:worker_threads');
const http = require('node:http');
const count = new Int32Array(workerData);
const s = http.createServer((q, r) => { Atomics.add(count, 0, 1); q.resume(); r.end('ok'); });
s.keepAliveTimeout = 60000;
s.listen(0, '127.0.0.1', () => parentPort.postMessage(s.address().port));
`;

describe('openLoopInThread', () => {
  const shared = new SharedArrayBuffer(4);
  const count = new Int32Array(shared);
  let server: Worker;
  let origin: string;

  beforeAll(async () => {
    server = new Worker(SERVER, { eval: true, workerData: shared });
    const port = await new Promise<number>((resolve) => server.once('message', resolve));
    origin = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await server.terminate();
  });

  it('sends while the main thread is blocked, and gives its record on the main thread clock', async () => {
    const before = performance.now();
    const load = openLoopInThread({ origin, path: '/', rate: 200, durationMs: 4000 });
    const started = await load.started;
    // Requests are flowing; then the main thread blocks (a synchronous wait, as a spawn blocks it).
    while (Atomics.load(count, 0) < 20) await new Promise((r) => setTimeout(r, 10));
    const atBlock = Atomics.load(count, 0);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
    const afterBlock = Atomics.load(count, 0);
    expect(afterBlock).toBeGreaterThan(atBlock);

    const record = await load.record;
    expect(record.startedAt).toBeGreaterThanOrEqual(before);
    expect(record.startedAt).toBeLessThanOrEqual(started);
    const all = summarize(record);
    expect(all.requests).toBe(800);
    expect(all.failed).toBe(0);
  });
});

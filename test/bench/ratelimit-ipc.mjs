// CPU cost of the `local` rate-limiting policy per admitted request, the whole node counted
// (the primary and every worker, process.cpuUsage): the old way (every request's counter add
// sent to the primary over the node:cluster IPC, batched per event-loop turn) against the new
// one (one worker: counted in the worker; several: admitted from allowance leases, leases.ts).
// Each worker admits N requests, BATCH of them per event-loop turn (as a busy proxy does), over
// KEYS limit keys with a limit no run reaches (the bench's `minute: 1000000000`).
//   node test/bench/ratelimit-ipc.mjs            (build data-plane first)
import cluster from 'node:cluster';
import { CounterStore } from '../../data-plane/dist/ratelimit/counter-store.js';
import {
  answerCounters,
  InProcessPolicy,
  IpcCounterPolicy,
} from '../../data-plane/dist/ratelimit/local-policy.js';
import { LeasePolicy } from '../../data-plane/dist/ratelimit/lease-policy.js';
import { LeaseBook } from '../../data-plane/dist/ratelimit/leases.js';

const N = Number(process.env.N ?? 100_000);
const BATCH = 16;
const KEYS = 16;
const LIMIT = 1_000_000_000;
const limits = [LIMIT];
const hits = Array.from({ length: KEYS }, (_, i) => [{ key: `p:${i}`, windowSeconds: 60, windowStart: 0 }]);

const SCENARIOS = [
  { label: 'no rate limiting (harness)', mode: 'none', workers: 1 },
  { label: 'old: IPC per request, 1 worker', mode: 'ipc', workers: 1 },
  { label: 'new: in the worker, 1 worker', mode: 'inproc', workers: 1 },
  { label: 'old: IPC per request, 2 workers', mode: 'ipc', workers: 2 },
  { label: 'new: leases, 2 workers', mode: 'lease', workers: 2 },
];

const cpuUs = (u) => u.user + u.system;

async function runWorker(mode) {
  const send = (m) => (process.send(m), true);
  const ipc = new IpcCounterPolicy({ send });
  const lease = new LeasePolicy({ send, counters: ipc });
  process.on('message', (m) => {
    if (m?.t === 'counters') ipc.onReply(m);
    else if (m?.t === 'lease-grant' || m?.t === 'lease-reclaim') lease.onMessage(m);
  });
  const inproc = new InProcessPolicy();
  // One request: what the rate-limiting plugin asks of its policy.
  const one = {
    none: () => [1],
    ipc: (h) => ipc.increment(h, 1),
    inproc: (h) => inproc.admit(h, limits),
    lease: (h) => lease.admit(h, limits),
  }[mode];
  let admitted = 0;
  const count = (c) => {
    if (c[0] - 1 < LIMIT) admitted += 1;
  };
  const start = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i += BATCH) {
    const waits = [];
    for (let j = 0; j < BATCH; j += 1) {
      const r = one(hits[(i + j) % KEYS]);
      if (Array.isArray(r)) count(r);
      else waits.push(r.then(count));
    }
    if (waits.length > 0) await Promise.all(waits);
    await new Promise((r) => setImmediate(r));
  }
  const cpu = cpuUs(process.cpuUsage(start));
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
  process.send({ t: 'done', cpu, admitted, wallUs });
}

async function runScenario({ label, mode, workers }) {
  const store = new CounterStore();
  const slots = new Map();
  const book = new LeaseBook({ workers, send: (id, m) => slots.get(id).send(m) });
  const results = [];
  const primaryStart = process.cpuUsage();
  await new Promise((resolve) => {
    for (let w = 0; w < workers; w += 1) {
      const worker = cluster.fork({ BENCH_MODE: mode });
      slots.set(worker.id, worker);
      worker.on('message', (m) => {
        if (m?.t === 'counters') worker.send(answerCounters(store, m));
        else if (m?.t === 'lease-ask') book.onAsk(worker.id, m);
        else if (m?.t === 'lease-return') book.onReturn(worker.id, m);
        else if (m?.t === 'done') {
          results.push(m);
          worker.kill();
          if (results.length === workers) resolve();
        }
      });
    }
  });
  // The primary's CPU while the workers ran (it answers their messages); the forks' own boot is not in it.
  const primary = cpuUs(process.cpuUsage(primaryStart));
  book.close();
  const admitted = results.reduce((a, r) => a + r.admitted, 0);
  const workerCpu = results.reduce((a, r) => a + r.cpu, 0);
  const wall = Math.max(...results.map((r) => r.wallUs));
  console.log(
    `${label.padEnd(34)} ${((workerCpu + primary) / admitted).toFixed(2).padStart(6)} µs CPU/request ` +
      `(workers ${(workerCpu / admitted).toFixed(2)}, primary ${(primary / admitted).toFixed(2)})  ` +
      `wall ${(wall / (admitted / workers)).toFixed(2)} µs/request/worker  admitted ${admitted}`,
  );
}

if (cluster.isPrimary) {
  cluster.setupPrimary({ serialization: 'advanced' });
  console.log(
    `N=${N} per worker, ${BATCH} per turn, ${KEYS} keys; CPU of the whole node per admitted request`,
  );
  for (const s of SCENARIOS) await runScenario(s);
} else {
  await runWorker(process.env.BENCH_MODE);
}

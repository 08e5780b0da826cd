// Cost of the `local` rate-limiting policy's counters: in this process (what a single-process
// proxy does) against a worker asking the primary over the node:cluster IPC (what a DP with N
// workers does: one limit per node). Sequential requests pay one round trip each; concurrent
// requests of one event-loop turn share one message (IpcCounterPolicy batches per turn).
//   node test/bench/ratelimit-ipc.mjs
import cluster from 'node:cluster';
import { CounterStore } from '../../data-plane/dist/ratelimit/counter-store.js';
import {
  answerCounters,
  InProcessPolicy,
  IpcCounterPolicy,
} from '../../data-plane/dist/ratelimit/local-policy.js';

const hit = (i) => [{ key: `p:${i & 1023}`, windowSeconds: 60, windowStart: 0 }];

async function measure(policy, label) {
  const N = 20_000;
  let t = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await policy.increment(hit(i), 1);
  const seq = Number(process.hrtime.bigint() - t) / N / 1000;
  const B = 100;
  t = process.hrtime.bigint();
  for (let i = 0; i < N; i += B)
    await Promise.all(Array.from({ length: B }, (_, j) => policy.increment(hit(i + j), 1)));
  const conc = Number(process.hrtime.bigint() - t) / N / 1000;
  console.log(
    `${label.padEnd(28)} sequential ${seq.toFixed(2)} µs/request   ${B} concurrent ${conc.toFixed(2)} µs/request`,
  );
}

if (cluster.isPrimary) {
  cluster.setupPrimary({ serialization: 'advanced' });
  const store = new CounterStore();
  const worker = cluster.fork();
  worker.on('message', (m) => {
    if (m?.t === 'counters') worker.send(answerCounters(store, m));
  });
  await measure(new InProcessPolicy(), 'in process');
  await new Promise((r) => worker.once('exit', r));
} else {
  const client = new IpcCounterPolicy({ send: (m) => (process.send(m), true) });
  process.on('message', (m) => m?.t === 'counters' && client.onReply(m));
  await measure(client, 'worker -> primary (IPC)');
  process.exit(0);
}

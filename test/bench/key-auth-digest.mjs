// Cost per request of the key-auth lookup digest: the keyed digest (HMAC-SHA-256, what a DP runs
// on every presented key since snapshots carry digests) against the plain SHA-256 it replaced.
// The plugin remembers keys that matched (an LRU per snapshot, 'returning key' below), so only a
// key seen for the first time (or an unknown one) pays the HMAC. Interleaved rounds, so a busy
// machine slows all rows alike.
//   node test/bench/key-auth-digest.mjs
import crypto from 'node:crypto';
import { keyAuthDigester } from '../../shared/dist/index.js';
import { Lru } from '../../data-plane/dist/plugins/runtime/lru.js';

const hmac = keyAuthDigester(crypto.randomBytes(32));
const sha = (s) => crypto.hash('sha256', s, 'base64');
const keys = Array.from({ length: 1024 }, (_, i) => `consumer-${i}-${crypto.randomUUID()}`);
const N = 500_000;
function run(f) {
  let x = 0;
  const t = process.hrtime.bigint();
  for (let i = 0; i < N; i++) x += f(keys[i & 1023]).length;
  return [Number(process.hrtime.bigint() - t) / N, x];
}
const lru = new Lru(10_000);
const returning = (k) => {
  const hit = lru.get(k);
  if (hit !== undefined) return hit;
  const d = hmac(k);
  lru.set(k, d);
  return d;
};
const rows = {
  'sha256 (before)': [],
  'hmac-sha256 (first sight / unknown key)': [],
  'returning key (LRU hit)': [],
};
for (let round = 0; round < 6; round++) {
  rows['sha256 (before)'].push(run(sha)[0]);
  rows['hmac-sha256 (first sight / unknown key)'].push(run(hmac)[0]);
  rows['returning key (LRU hit)'].push(run(returning)[0]);
}
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
for (const [name, ns] of Object.entries(rows))
  console.log(`${name}: median ${median(ns).toFixed(0)} ns per key`);

// A load client in a child process that times each operation: for each message {urls, n,
// concurrency} it performs n operations, `concurrency` at a time over keep-alive, an operation
// being the GETs of every URL of `urls` in parallel (one URL: one request); answers
// {opsPerSec, p50, p99} (milliseconds) or {error}.
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = process.env.GATEHOUSE_ROOT ?? resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const { Agent, request } = createRequire(join(ROOT, 'data-plane', 'package.json'))('undici');
const agent = new Agent({ connections: 128, pipelining: 1 });

async function get(url) {
  const r = await request(url, { dispatcher: agent });
  await r.body.dump();
  if (r.statusCode !== 200) throw new Error(`${url}: status ${r.statusCode}`);
}

process.on('message', async ({ urls, n, concurrency }) => {
  try {
    const times = [];
    let next = 0;
    const worker = async () => {
      while (next < n) {
        next++;
        const t0 = performance.now();
        await (urls.length === 1 ? get(urls[0]) : Promise.all(urls.map(get)));
        times.push(performance.now() - t0);
      }
    };
    const start = performance.now();
    await Promise.all(Array.from({ length: concurrency }, worker));
    const elapsed = (performance.now() - start) / 1000;
    times.sort((a, b) => a - b);
    const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
    process.send({ opsPerSec: n / elapsed, p50: at(0.5), p99: at(0.99) });
  } catch (err) {
    process.send({ error: String(err) });
  }
});

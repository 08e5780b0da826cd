// The load client of lib/proxy-cpu.mjs, a child process (its CPU is not the proxy's): for each
// message {url, n, concurrency, headers, reset} it sends n GETs over keep-alive (`reset`: a new
// connection for each request), `concurrency` at a time, then answers {done: true} (or {error}).
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = process.env.GATEHOUSE_ROOT ?? resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const { Agent, request } = createRequire(join(ROOT, 'data-plane', 'package.json'))('undici');
const agent = new Agent({ connections: 64, pipelining: 1 });

process.on('message', async ({ url, n, concurrency, headers, reset = false }) => {
  try {
    let next = 0;
    const worker = async () => {
      while (next < n) {
        next++;
        const r = await request(url, { dispatcher: agent, headers, reset });
        await r.body.dump();
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    process.send({ done: true });
  } catch (err) {
    process.send({ error: String(err) });
  }
});

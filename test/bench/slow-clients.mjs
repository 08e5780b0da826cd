#!/usr/bin/env node
// Slow clients against a real data plane (issue 8 item 11): `gatehouse dp --config FILE` (DB-less,
// --workers 2) in front of a node:http upstream in this process. Prints JSON with
//   baseline           wrk (GET /fast, -c16) with no slow client: requests/s, mean and p99 latency
//   under_attack       the same wrk run while --slow connections are held open (half slowloris: a
//                      request head one byte per second; half slow bodies: a POST whose body comes
//                      one byte per second); a closed one is reopened at once, as attack tools do
//   close_ms           for each kind: how long the proxy let a connection live (connect -> close by
//                      the proxy), median and max, and the status line it answered
//   upstream_open_max  the most upstream requests of slow bodies open at once
// With --probe: only one connection of each kind, held until the proxy closes it (or --max
// seconds): how long each lived and what it was answered (for a before/after comparison).
//
//   node scripts/bootstrap.mjs && node test/bench/slow-clients.mjs [--slow 500] [--duration 20] [-- <dp flags>]
//   node test/bench/slow-clients.mjs --probe [--max 400]
//
// Flags after `--` go to `gatehouse dp` (e.g. `-- --client-body-timeout 30000`). Needs wrk. The
// figures compare runs on one box, they are not a gateway benchmark (see run.sh for that).
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, sleep, startGatehouse, tempDir } from './lib/processes.mjs';

const { values, positionals } = parseArgs({
  options: {
    slow: { type: 'string', default: '500' },
    duration: { type: 'string', default: '20' },
    probe: { type: 'boolean', default: false },
    max: { type: 'string', default: '400' },
  },
  allowPositionals: true,
});
const SLOW = Number(values.slow);

let upstreamOpen = 0;
let upstreamOpenMax = 0;
const upstream = createServer((req, res) => {
  if (req.url.startsWith('/slow')) {
    upstreamOpen += 1;
    upstreamOpenMax = Math.max(upstreamOpenMax, upstreamOpen);
    req.on('close', () => (upstreamOpen -= 1));
    req.resume();
    req.on('end', () => res.end('done'));
    return;
  }
  res.end('ok');
}).listen(0, '127.0.0.1');
await new Promise((r) => upstream.once('listening', r));
upstream.maxConnections = 100_000;

const dir = tempDir('slow');
const file = join(dir, 'kong.yaml');
writeFileSync(
  file,
  `_format_version: "3.0"
services:
  - name: up
    url: http://127.0.0.1:${upstream.address().port}
    routes:
      - name: all
        paths: ["/"]
        strip_path: false
`,
);
const port = await freePort();
const dp = startGatehouse(
  [
    'dp',
    '--config',
    file,
    '--workers',
    '2',
    '--listen',
    `127.0.0.1:${port}`,
    '--status-listen',
    `127.0.0.1:${await freePort()}`,
    '--data-dir',
    join(dir, 'dp'),
    ...positionals,
  ],
  { logLevel: 'warn' },
);
for (let i = 0; ; i += 1) {
  const ok = await fetch(`http://127.0.0.1:${port}/fast`).then(
    (r) => r.status === 200,
    () => false,
  );
  if (ok) break;
  if (i > 600) throw new Error('the data plane did not serve');
  await sleep(100);
}

/** wrk -c16 against /fast: requests/s, mean and p99 latency in ms. */
function wrk(seconds) {
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', [
      '-t1',
      '-c16',
      `-d${seconds}s`,
      '--latency',
      `http://127.0.0.1:${port}/fast`,
    ]);
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.on('error', reject);
    child.on('exit', () => {
      const ms = (v, unit) => Number(v) * (unit === 's' ? 1000 : unit === 'us' ? 0.001 : 1);
      const mean = /Latency\s+([\d.]+)(us|ms|s)/.exec(out);
      const p99 = /99%\s+([\d.]+)(us|ms|s)/.exec(out);
      const errors = /Socket errors: (.*)/.exec(out)?.[1] ?? null;
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
      resolve({
        rps: Math.round(Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0)),
        mean_ms: mean ? Math.round(ms(mean[1], mean[2]) * 100) / 100 : null,
        p99_ms: p99 ? Math.round(ms(p99[1], p99[2]) * 100) / 100 : null,
        non2xx,
        socket_errors: errors,
      });
    });
  });
}

const closes = { slowloris: [], slow_body: [] };
const answers = { slowloris: {}, slow_body: {} };
let attacking = true;
const open = new Set();

/** One slow connection of `kind`; reopened when the proxy closes it while the attack lasts. */
function slowConnection(kind) {
  const socket = net.connect(port, '127.0.0.1');
  const t0 = Date.now();
  let data = '';
  let timer;
  open.add(socket);
  socket.on('connect', () => {
    socket.write(
      kind === 'slowloris'
        ? 'GET /fast HTTP/1.1\r\nHost: a\r\n'
        : 'POST /slow HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n',
    );
    timer = setInterval(() => socket.writable && socket.write(kind === 'slowloris' ? 'X' : 'x'), 1000);
  });
  socket.on('data', (c) => (data += c.toString('latin1')));
  socket.on('error', () => undefined);
  socket.on('close', () => {
    clearInterval(timer);
    open.delete(socket);
    if (!attacking) return;
    closes[kind].push(Date.now() - t0);
    const line = data.slice(0, 12) || '(no answer)';
    answers[kind][line] = (answers[kind][line] ?? 0) + 1;
    slowConnection(kind);
  });
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? { closed: 0 }
    : { closed: s.length, median: s[Math.floor(s.length / 2)], max: s[s.length - 1] };
};

if (values.probe) {
  const probe = (kind) =>
    new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      const t0 = Date.now();
      let data = '';
      let timer;
      const bound = setTimeout(() => socket.destroy(), Number(values.max) * 1000);
      socket.on('connect', () => {
        socket.write(
          kind === 'slowloris'
            ? 'GET /fast HTTP/1.1\r\nHost: a\r\n'
            : 'POST /slow HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n',
        );
        timer = setInterval(() => socket.writable && socket.write(kind === 'slowloris' ? 'X' : 'x'), 1000);
      });
      socket.on('data', (c) => (data += c.toString('latin1')));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        clearInterval(timer);
        clearTimeout(bound);
        resolve({ closed_after_ms: Date.now() - t0, answer: data.slice(0, 12) || '(none)' });
      });
    });
  const [slowloris, slowBody] = await Promise.all([probe('slowloris'), probe('slow_body')]);
  console.log(
    JSON.stringify({
      dp_flags: positionals,
      slowloris,
      slow_body: slowBody,
      upstream_open_max: upstreamOpenMax,
    }),
  );
  await dp.stop();
  upstream.close();
  process.exit(0);
}

const seconds = Number(values.duration);
const baseline = await wrk(seconds);
for (let i = 0; i < SLOW; i += 1) slowConnection(i % 2 === 0 ? 'slowloris' : 'slow_body');
await sleep(2_000);
const openAtStart = open.size;
const underAttack = await wrk(seconds);
const openAtEnd = open.size;
attacking = false;
for (const s of open) s.destroy();

console.log(
  JSON.stringify(
    {
      slow_connections: SLOW,
      dp_flags: positionals,
      baseline,
      under_attack: { ...underAttack, slow_open_at_start: openAtStart, slow_open_at_end: openAtEnd },
      close_ms: {
        slowloris: { ...stats(closes.slowloris), answers: answers.slowloris },
        slow_body: { ...stats(closes.slow_body), answers: answers.slow_body },
      },
      upstream_open_max: upstreamOpenMax,
    },
    null,
    2,
  ),
);
await dp.stop();
upstream.close();
process.exit(0);

/**
 * What the copies of a listening socket (data-plane/src/proxy/listener-copies.ts) cost per new
 * connection: an HTTP server with 0 or N copies; a client process opens `CONNS` connections one
 * after the other, one request each (`Connection: close`). Reports the server process's CPU per
 * connection (user + system, so the EAGAIN accepts of the descriptors that lost count).
 *
 *   node --import tsx test/bench/listener-copies.ts [copies…]      (default: 0 31 127)
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ListenerCopies, isListenerCopy } from '../../data-plane/src/proxy/listener-copies.js';

const CONNS = Number(process.env.CONNS ?? 4000);
const ECHO = `process.on('message', (m, h) => { if (h) process.send(m, h, () => h.close()); });`;
const CLIENT = `
const net = require('node:net');
const [port, n] = process.argv.slice(1).map(Number);
let left = n;
const one = () => {
  if (left-- === 0) return process.exit(0);
  const s = net.connect(port, '127.0.0.1', () => s.write('GET / HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n'));
  s.resume();
  s.on('close', one);
};
one();`;

async function run(copies: number): Promise<number> {
  const server = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', 511, () => r()));
  const { port } = server.address() as AddressInfo;
  const echo = spawn(process.execPath, ['-e', ECHO], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  let received = 0;
  echo.on('message', (m) => {
    if (isListenerCopy(m)) received++;
  });
  const listener = new ListenerCopies(server, echo, 511, { count: copies, holdMs: 600_000, fetchDelayMs: 0 });
  listener.need();
  while (received < copies) await new Promise((r) => setTimeout(r, 10));
  const cpu0 = process.cpuUsage();
  const client = spawn(process.execPath, ['-e', CLIENT, String(port), String(CONNS)], { stdio: 'inherit' });
  await new Promise((r) => client.on('exit', r));
  const used = process.cpuUsage(cpu0);
  await listener.close();
  await new Promise((r) => server.close(r));
  echo.kill();
  return (used.user + used.system) / CONNS;
}

const counts = process.argv.slice(2).map(Number);
for (const copies of counts.length > 0 ? counts : [0, 31, 127, 0, 31, 127]) {
  const us = await run(copies);
  console.log(`${copies} copies: ${us.toFixed(1)} µs of server CPU per connection (${CONNS} connections)`);
}

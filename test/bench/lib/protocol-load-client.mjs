// The load client of protocols.mjs, a child process (its CPU is not the proxy's). Messages:
//   {kind: 'grpc', target: 'host:port', n, concurrency, size}: n unary calls of `/bench.Echo/Unary`
//     over one @grpc/grpc-js channel (one HTTP/2 connection), `concurrency` in flight — a ghz-like
//     closed loop;
//   {kind: 'ws', url, connections, n, size}: `connections` WebSockets, each sending a message and
//     waiting for its echo before the next, n messages in all.
// Each answers {ms} (wall time of the run) or {error}. The gRPC client is kept between runs.
import * as grpc from '@grpc/grpc-js';
import WebSocket from 'ws';
import { performance } from 'node:perf_hooks';

const raw = (b) => b;
const Echo = grpc.makeGenericClientConstructor(
  {
    Unary: {
      path: '/bench.Echo/Unary',
      requestStream: false,
      responseStream: false,
      requestSerialize: raw,
      requestDeserialize: raw,
      responseSerialize: raw,
      responseDeserialize: raw,
    },
  },
  'Echo',
);
const clients = new Map();

async function grpcRun({ target, n, concurrency, size }) {
  let client = clients.get(target);
  if (client === undefined) {
    client = new Echo(target, grpc.credentials.createInsecure());
    clients.set(target, client);
  }
  const body = Buffer.alloc(size, 0x61);
  let next = 0;
  const call = () =>
    new Promise((resolve, reject) =>
      client.Unary(body, (err, reply) =>
        err ? reject(err) : reply.length === size ? resolve() : reject(new Error('short reply')),
      ),
    );
  const worker = async () => {
    while (next < n) {
      next++;
      await call();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

async function wsRun({ url, connections, n, size }) {
  const sockets = await Promise.all(
    Array.from(
      { length: connections },
      () =>
        new Promise((resolve, reject) => {
          const ws = new WebSocket(url, { perMessageDeflate: false });
          ws.once('open', () => resolve(ws));
          ws.once('error', reject);
        }),
    ),
  );
  const body = Buffer.alloc(size, 0x61);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise((resolve, reject) => {
          const send = () => {
            if (next >= n) return resolve();
            next++;
            ws.send(body);
          };
          ws.on('message', (data) => (data.length === size ? send() : reject(new Error('short echo'))));
          ws.once('error', reject);
          send();
        }),
    ),
  );
  const ms = performance.now() - t0;
  for (const ws of sockets) ws.close();
  return ms;
}

process.on('message', async (m) => {
  try {
    const t0 = performance.now();
    const ms = m.kind === 'grpc' ? (await grpcRun(m), performance.now() - t0) : await wsRun(m);
    process.send({ ms });
  } catch (err) {
    process.send({ error: String(err) });
  }
});

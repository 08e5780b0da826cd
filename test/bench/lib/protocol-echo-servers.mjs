// The upstreams of protocols.mjs, a child process (its CPU is not the proxy's): a @grpc/grpc-js
// server with one unary method `/bench.Echo/Unary` (raw Buffer serializers: it answers the request
// bytes) and a `ws` WebSocket echo server. Prints `{"grpc":port,"ws":port}` as its first line.
import * as grpc from '@grpc/grpc-js';
import { WebSocketServer } from 'ws';

const raw = (b) => b;
const server = new grpc.Server();
server.addService(
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
  { Unary: (call, cb) => cb(null, call.request) },
);
const grpcPort = await new Promise((resolve, reject) =>
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) =>
    err ? reject(err) : resolve(port),
  ),
);
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
await new Promise((resolve) => wss.on('listening', resolve));
wss.on('connection', (ws) => ws.on('message', (data, binary) => ws.send(data, { binary })));
console.log(JSON.stringify({ grpc: grpcPort, ws: wss.address().port }));

/**
 * udp-log (Kong priority 8): sends each request's log entry (Kong's serializer shape, JSON, one
 * datagram per entry) to `host:port`. One socket per destination, kept across snapshots; an entry
 * the network refuses (too large for a datagram, no route) is dropped and counted.
 */
import { definePlugin } from '../api.js';
import { logCounters } from '../../observe/log-queue.js';
import { SinkRegistry } from '../../observe/log-sinks.js';
import { UdpSink } from '../../observe/udp-sink.js';
import { udpLogSpec } from './schema.js';

const counters = logCounters('udp-log');
const sinks = new SinkRegistry((key) => {
  const { host, port } = JSON.parse(key) as { host: string; port: number };
  return new UdpSink(host, port, counters);
});

export default definePlugin({
  ...udpLogSpec,
  init(config) {
    return sinks.get({ host: config.host, port: config.port });
  },
  log(ctx, sink) {
    sink.send(JSON.stringify(ctx.serialize()));
  },
});

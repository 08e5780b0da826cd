/**
 * tcp-log (Kong priority 7): writes each request's log entry (Kong's serializer shape) as one JSON
 * line to `host:port`, over TLS when `tls` (SNI `tls_sni`, the certificate not verified, as Kong's
 * `sslhandshake(false, sni, false)`). One connection per destination, kept across snapshots, opened
 * on demand and closed after `keepalive` ms idle; `timeout` bounds the connect and each write.
 * Lines beyond 16 MiB waiting on a slow receiver are dropped; every drop is counted.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { definePlugin } from '../api.js';
import { logCounters } from '../../observe/log-queue.js';
import { SinkRegistry } from '../../observe/log-sinks.js';
import { tcpLogSpec } from './schema.js';

const counters = logCounters('tcp-log');
const MAX_BUFFERED = 16 * 1024 * 1024;

interface Target {
  host: string;
  port: number;
  timeout: number;
  keepalive: number;
  tls: boolean;
  sni: string | null;
}

class TcpSink {
  private socket: Socket | null = null;
  private idle: NodeJS.Timeout | null = null;

  constructor(private readonly t: Target) {}

  private open(): Socket {
    const t = this.t;
    const host = t.host.replace(/^\[|\]$/g, '');
    const socket = t.tls
      ? tlsConnect({ host, port: t.port, servername: t.sni ?? undefined, rejectUnauthorized: false })
      : tcpConnect({ host, port: t.port });
    socket.setTimeout(t.timeout, () => socket.destroy(new Error('tcp-log: timeout')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (this.socket === socket) this.socket = null;
    });
    socket.unref();
    return socket;
  }

  write(line: string): void {
    const socket = (this.socket ??= this.open());
    if (socket.writableLength > MAX_BUFFERED) {
      counters.dropped++;
      return;
    }
    socket.write(line, (err) => {
      if (err) counters.dropped++;
      else counters.sent++;
    });
    if (this.idle !== null) this.idle.refresh();
    else {
      this.idle = setTimeout(() => {
        this.idle = null;
        this.socket?.end();
        this.socket = null;
      }, this.t.keepalive);
      this.idle.unref();
    }
  }
}

const sinks = new SinkRegistry((key) => new TcpSink(JSON.parse(key) as Target));

export default definePlugin({
  ...tcpLogSpec,
  init(config) {
    return sinks.get({
      host: config.host,
      port: config.port,
      timeout: config.timeout,
      keepalive: config.keepalive,
      tls: config.tls,
      sni: config.tls_sni ?? null,
    } satisfies Target);
  },
  log(ctx, sink) {
    sink.write(`${JSON.stringify(ctx.serialize())}\n`);
  },
});

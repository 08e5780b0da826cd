/**
 * A UDP sender for the log plugins (udp-log, syslog): one unconnected socket per destination,
 * created on first send and unref'd (it never keeps a worker alive). A datagram the network
 * refuses (too large, no route) is dropped and counted; a socket error closes the socket and the
 * next send opens a new one.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { LogCounters } from './log-queue.js';

export class UdpSink {
  private socket: Socket | null = null;
  private readonly host: string;

  constructor(
    host: string,
    private readonly port: number,
    private readonly counters: LogCounters,
  ) {
    this.host = host.replace(/^\[|\]$/g, '');
  }

  send(message: string | Buffer): void {
    let socket = this.socket;
    if (socket === null) {
      const s = createSocket(isIPv6(this.host) ? 'udp6' : 'udp4');
      s.on('error', () => {
        s.close();
        if (this.socket === s) this.socket = null;
      });
      s.unref();
      this.socket = socket = s;
    }
    const c = this.counters;
    socket.send(message, this.port, this.host, (err) => {
      if (err) c.dropped++;
      else c.sent++;
    });
  }
}

/**
 * Open and accepted client connections of a proxy listener (plain `http` or TLS `https`), counted
 * into this process's MetricStore: one listener per connection (not per request).
 */
import type { Server } from 'node:net';
import { metricStore, type Listener, type MetricStore } from './metric-store.js';

export function countConnections(server: Server, listener: Listener, store: MetricStore = metricStore): void {
  const open = store.connections;
  const closed = (): void => {
    open[listener] -= 1;
  };
  server.on('connection', (socket: { once(event: 'close', fn: () => void): unknown }) => {
    open[listener] += 1;
    store.accepted += 1;
    socket.once('close', closed);
  });
}

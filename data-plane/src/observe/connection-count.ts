/**
 * Open and accepted client connections of a proxy listener, counted into this process's
 * MetricStore: one listener per connection (not per request).
 */
import type { Server } from 'node:net';
import { metricStore, type MetricStore } from './metric-store.js';

export function countConnections(server: Server, store: MetricStore = metricStore): void {
  let open = 0;
  const previous = store.connections;
  store.connections = () => open + previous();
  const closed = (): void => {
    open -= 1;
  };
  server.on('connection', (socket: { once(event: 'close', fn: () => void): unknown }) => {
    open += 1;
    store.accepted += 1;
    socket.once('close', closed);
  });
}

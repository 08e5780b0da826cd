/**
 * http-log (Kong priority 12): sends each request's log entry (Kong's serializer shape, JSON) to
 * `http_endpoint` through Kong's queue: batched (`queue.max_batch_size`; a batch of more than one
 * is a JSON array), retried with exponential backoff up to `queue.max_retry_time`, bounded by
 * `queue.max_entries` / `queue.max_bytes` (the oldest entry is dropped and counted when full).
 * Instances with the same endpoint and settings share one queue and one connection pool (undici),
 * kept across snapshots. The log phase only encodes the entry and queues it: a slow or dead
 * endpoint never slows or fails the proxied request.
 */
import { Pool } from 'undici';
import { definePlugin } from '../api.js';
import { LogQueue, logCounters, type QueueSettings } from '../../observe/log-queue.js';
import { SinkRegistry } from '../../observe/log-sinks.js';
import { httpLogSpec, type HttpLogConfig } from './schema.js';

const counters = logCounters('http-log');

interface Target {
  origin: string;
  path: string;
  method: 'POST' | 'PUT' | 'PATCH';
  headers: Record<string, string>;
  timeout: number;
  keepalive: number;
  queue: QueueSettings;
}

class HttpLogSink {
  readonly queue: LogQueue;
  private readonly pool: Pool;

  constructor(private readonly target: Target) {
    this.pool = new Pool(target.origin, {
      connections: 4,
      keepAliveTimeout: Math.max(1, target.keepalive),
      connectTimeout: target.timeout,
      headersTimeout: target.timeout,
      bodyTimeout: target.timeout,
    });
    this.queue = new LogQueue({
      settings: target.queue,
      counters,
      send: (batch) => this.send(batch),
    });
  }

  private async send(batch: string[]): Promise<void> {
    const body = this.target.queue.max_batch_size === 1 ? batch[0]! : `[${batch.join(',')}]`;
    const res = await this.pool.request({
      path: this.target.path,
      method: this.target.method,
      headers: { ...this.target.headers, 'content-length': String(Buffer.byteLength(body)) },
      body,
      signal: AbortSignal.timeout(this.target.timeout),
    });
    // Always read the body, so the connection can be reused.
    await res.body.dump();
    if (res.statusCode >= 300) throw new Error(`log server answered ${res.statusCode}`);
  }
}

const sinks = new SinkRegistry((key) => new HttpLogSink(JSON.parse(key) as Target));

/** The queue settings, with Kong's deprecated `queue_size` / `flush_timeout` mapped in. */
function queueSettings(config: HttpLogConfig): QueueSettings {
  const q = config.queue;
  return {
    max_batch_size:
      config.queue_size != null && q.max_batch_size === 1 ? config.queue_size : q.max_batch_size,
    max_coalescing_delay:
      config.flush_timeout != null && q.max_coalescing_delay === 1
        ? config.flush_timeout
        : q.max_coalescing_delay,
    max_entries: q.max_entries,
    max_bytes: q.max_bytes ?? null,
    max_retry_time: q.max_retry_time,
    initial_retry_delay: q.initial_retry_delay,
    max_retry_delay: q.max_retry_delay,
  };
}

export default definePlugin({
  ...httpLogSpec,
  init(config) {
    const url = new URL(config.http_endpoint);
    const headers: Record<string, string> = { 'content-type': config.content_type };
    if (url.username !== '' || url.password !== '') {
      const userinfo = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
      headers.authorization = `Basic ${Buffer.from(userinfo).toString('base64')}`;
    }
    // Kong: the configured headers never override Content-Type or Authorization.
    for (const [name, value] of Object.entries(config.headers ?? {})) headers[name.toLowerCase()] ??= value;
    const target: Target = {
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: config.method,
      headers,
      timeout: config.timeout,
      keepalive: config.keepalive,
      queue: queueSettings(config),
    };
    return sinks.get(target);
  },
  log(ctx, sink) {
    sink.queue.push(JSON.stringify(ctx.serialize()));
  },
});

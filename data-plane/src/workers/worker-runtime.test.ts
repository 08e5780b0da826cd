import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, emptyConfig, type GatehouseConfig } from '@gatehouse/shared';
import type { ConfigMessage, WorkerToPrimary } from './protocol.js';
import { COLLECT_AFTER_BYTES, takeConfig, WorkerRuntime, type WorkerProxy } from './worker-runtime.js';

const logger = createLogger('test', { level: 'silent' });

/** A config whose JSON is at least `size` bytes (padded with a long service name). */
function configBytes(size: number): Buffer {
  const c: GatehouseConfig = emptyConfig();
  c.services.push({ name: 'x'.repeat(size) } as GatehouseConfig['services'][number]);
  return Buffer.from(JSON.stringify(c));
}

const message = (seq: number, bytes: Uint8Array): ConfigMessage => ({
  t: 'config',
  seq,
  version: String(seq),
  hash: `h${seq}`,
  bytes,
});

describe('WorkerRuntime', () => {
  const server = createServer();
  afterEach(
    () => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve())),
  );

  /** A runtime over a proxy that records what it applies; `events` lists IPC answers and collections. */
  function runtime() {
    const events: string[] = [];
    const applied: GatehouseConfig[] = [];
    const proxy: WorkerProxy = {
      server,
      apply: (config) => void applied.push(config),
      listen: (port, host) => new Promise((resolve) => server.listen(port, host, () => resolve())),
      close: async () => undefined,
    };
    const rt = new WorkerRuntime({
      proxy,
      settings: { host: '127.0.0.1', port: 0, drainTimeoutMs: 100 },
      logger,
      send: (m: WorkerToPrimary) => events.push(m.t),
      exit: () => undefined,
      collectGarbage: () => events.push('gc'),
    });
    return { rt, events, applied };
  }

  async function settle(events: string[], count: number): Promise<void> {
    for (let i = 0; i < 200 && events.length < count; i++) await new Promise((r) => setTimeout(r, 10));
  }

  it('collects garbage once after applying a large config, after the primary has its answer', async () => {
    const { rt, events, applied } = runtime();
    rt.onMessage(message(1, configBytes(COLLECT_AFTER_BYTES)));
    await settle(events, 3);
    expect(events).toEqual(['listening', 'applied', 'gc']);
    expect(applied[0]!.services[0]!.name).toHaveLength(COLLECT_AFTER_BYTES);
  });

  it('does not collect after a small config', async () => {
    const { rt, events } = runtime();
    rt.onMessage(message(1, configBytes(10)));
    rt.onMessage(message(2, configBytes(20)));
    await settle(events, 3);
    await new Promise((r) => setTimeout(r, 50));
    expect(events).toEqual(['listening', 'applied', 'applied']);
  });

  it('collects after a large config the proxy refuses too', async () => {
    const { events } = runtime();
    const refusing = new WorkerRuntime({
      proxy: {
        server,
        apply: () => {
          throw new Error('does not compile');
        },
        listen: async () => undefined,
        close: async () => undefined,
      },
      settings: { host: '127.0.0.1', port: 0, drainTimeoutMs: 100 },
      logger,
      send: (m: WorkerToPrimary) => events.push(m.t),
      exit: () => undefined,
      collectGarbage: () => events.push('gc'),
    });
    refusing.onMessage(message(1, configBytes(COLLECT_AFTER_BYTES)));
    await settle(events, 2);
    expect(events).toEqual(['failed', 'gc']);
  });
});

describe('takeConfig', () => {
  it('parses the UTF-8 bytes of a message and leaves the message without them', () => {
    const c = emptyConfig();
    c.services.push({ name: 'café ☕' } as GatehouseConfig['services'][number]);
    const bytes = Buffer.from(JSON.stringify(c));
    // A view into a larger buffer, as the IPC channel hands it over.
    const framed = Buffer.concat([Buffer.from('head'), bytes, Buffer.from('tail')]);
    const m = message(1, framed.subarray(4, 4 + bytes.length));
    expect(takeConfig(m).services[0]!.name).toBe('café ☕');
    expect(m.bytes.byteLength).toBe(0);
  });
});

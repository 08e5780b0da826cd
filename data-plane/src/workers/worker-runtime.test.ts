import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, emptyConfig, type GatehouseConfig } from '@gatehouse/shared';
import type { ConfigMessage, PreparedMessage, WorkerToPrimary } from './protocol.js';
import { COLLECT_AFTER_BYTES, takeConfig, WorkerRuntime, type WorkerProxy } from './worker-runtime.js';
import { revokedTokens } from '../plugins/oauth2/revoked-tokens.js';

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

  /**
   * A runtime over a proxy that records what it compiles and swaps in; `events` lists IPC answers
   * and collections, `answers` the IPC answers themselves.
   */
  function runtime() {
    const events: string[] = [];
    const answers: WorkerToPrimary[] = [];
    const compiled: GatehouseConfig[] = [];
    const applied: GatehouseConfig[] = [];
    const proxy: WorkerProxy<GatehouseConfig> = {
      server,
      compile: (config) => {
        compiled.push(config);
        return config;
      },
      swap: (config) => void applied.push(config),
      listen: (port, host) => new Promise((resolve) => server.listen(port, host, () => resolve())),
      close: async () => undefined,
    };
    const rt = new WorkerRuntime({
      proxy,
      settings: { host: '127.0.0.1', port: 0, drainTimeoutMs: 100 },
      logger,
      send: (m: WorkerToPrimary) => {
        answers.push(m);
        events.push(m.t);
      },
      exit: () => undefined,
      collectGarbage: () => events.push('gc'),
    });
    return { rt, events, answers, compiled, applied };
  }

  async function settle(events: string[], count: number): Promise<void> {
    for (let i = 0; i < 200 && events.length < count; i++) await new Promise((r) => setTimeout(r, 10));
  }

  it("keeps the oauth2 revocations the primary sends (the plugin's pushed list), ignoring malformed ones", () => {
    const { rt } = runtime();
    const exp = Math.floor(Date.now() / 1000) + 60;
    rt.onMessage({ t: 'oauth2-revoked', tokens: [{ jti: 'rt-revoked', expiresAt: exp }] });
    rt.onMessage({ t: 'oauth2-revoked', tokens: 'garbage' });
    rt.onMessage({ t: 'oauth2-revoked', tokens: [{ jti: '', expiresAt: exp }, null] });
    expect(revokedTokens().has('rt-revoked')).toBe(true);
    expect(revokedTokens().has('')).toBe(false);
  });

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
        compile: () => {
          throw new Error('does not compile');
        },
        swap: () => undefined,
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

  it('prepares a round by compiling only, and swaps it in on the commit of that round', async () => {
    const { rt, events, answers, compiled, applied } = runtime();
    rt.onMessage({ ...message(1, configBytes(10)), prepare: true });
    await settle(events, 1);
    expect(events).toEqual(['prepared']);
    expect(compiled).toHaveLength(1);
    expect(applied).toHaveLength(0);
    expect((answers[0] as PreparedMessage).node).toBeNull();
    rt.onMessage({ t: 'commit', seq: 1 });
    await settle(events, 3);
    expect(events).toEqual(['prepared', 'listening', 'applied']);
    expect(applied).toEqual(compiled);
  });

  it('sends the node part back when asked: upstreams, targets and the cluster policy', async () => {
    const { rt, events, answers } = runtime();
    const c = emptyConfig();
    c.upstreams.push({ id: 'u1', name: 'pool' } as GatehouseConfig['upstreams'][number]);
    c.plugins.push({
      name: 'rate-limiting',
      enabled: true,
      config: { policy: 'cluster' },
    } as unknown as GatehouseConfig['plugins'][number]);
    rt.onMessage({ ...message(1, Buffer.from(JSON.stringify(c))), prepare: true, node: true });
    await settle(events, 1);
    expect((answers[0] as PreparedMessage).node).toEqual({
      upstreams: [{ id: 'u1', name: 'pool' }],
      targets: [],
      usesClusterPolicy: true,
      kongExport: { enabled: false, upstreamHealth: false },
    });
  });

  it('drops a prepared config on abort: a later commit of that round swaps nothing and fails', async () => {
    const { rt, events, applied } = runtime();
    rt.onMessage({ ...message(1, configBytes(COLLECT_AFTER_BYTES)), prepare: true });
    rt.onMessage({ t: 'abort', seq: 1 });
    rt.onMessage({ t: 'commit', seq: 1 });
    await settle(events, 3);
    expect(events).toEqual(['prepared', 'gc', 'failed']);
    expect(applied).toHaveLength(0);
  });

  it('answers a commit of another round than the one prepared with failed, and keeps serving', async () => {
    const { rt, events, applied } = runtime();
    rt.onMessage(message(1, configBytes(10)));
    rt.onMessage({ ...message(2, configBytes(20)), prepare: true });
    rt.onMessage({ t: 'commit', seq: 3 });
    await settle(events, 4);
    expect(events).toEqual(['listening', 'applied', 'prepared', 'failed']);
    expect(applied).toHaveLength(1);
  });

  it('refuses bytes that are not a config with the malformed code', async () => {
    const { rt, events, answers } = runtime();
    rt.onMessage({ ...message(1, Buffer.from('{"services":"nope"}')), prepare: true });
    await settle(events, 1);
    expect(answers[0]).toMatchObject({ t: 'failed', seq: 1, code: 'GH_ERR_SNAPSHOT_MALFORMED' });
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

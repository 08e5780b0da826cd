import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@gatehouse/shared';
import { DataPlaneMetrics } from './metrics.js';
import { StatusServer } from './status-server.js';

const logger = createLogger('test', { level: 'silent' });

describe('StatusServer', () => {
  let server: StatusServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  async function start(ready: () => boolean) {
    const metrics = new DataPlaneMetrics({ defaultMetrics: false });
    metrics.setSyncState('connected');
    metrics.configVersion.set(42);
    server = new StatusServer({
      status: () => ({ node_id: 'n1', version: 42n }),
      ready,
      registry: metrics.registry,
      logger,
    });
    const a = await server.listen(0, '127.0.0.1');
    return `http://127.0.0.1:${a.port}`;
  }

  it('answers /status/ready with 503 before a config is loaded and 200 after', async () => {
    let ready = false;
    const base = await start(() => ready);
    expect((await fetch(`${base}/status/ready`)).status).toBe(503);
    ready = true;
    expect((await fetch(`${base}/status/ready`)).status).toBe(200);
  });

  it('serves /status as JSON (bigints as strings)', async () => {
    const base = await start(() => true);
    const res = await fetch(`${base}/status`);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(await res.json()).toEqual({ node_id: 'n1', version: '42' });
  });

  it("answers Kong's 500 when the status cannot be read", async () => {
    const base = await start(() => {
      throw new Error('broken');
    });
    const res = await fetch(`${base}/status/ready`);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ message: 'An unexpected error occurred' });
  });

  it('serves Prometheus text on /metrics', async () => {
    const base = await start(() => true);
    const res = await fetch(`${base}/metrics`);
    const text = await res.text();
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    expect(text).toMatch(/^gatehouse_dp_config_version 42$/m);
    expect(text).toMatch(/^gatehouse_dp_control_plane_connected 1$/m);
    expect(text).toMatch(/^gatehouse_dp_control_plane_state\{state="connected"\} 1$/m);
  });

  it('answers 404 for unknown paths and 405 for writes', async () => {
    const base = await start(() => true);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/status`, { method: 'POST' })).status).toBe(405);
  });
});

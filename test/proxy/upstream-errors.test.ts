import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net, { type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { isGatehouseError } from '@gatehouse/shared';
import {
  call,
  closedPort,
  config,
  route,
  service,
  startProxy,
  startUpstream,
  type Upstream,
} from './helpers.js';

describe('proxy upstream failures map to Kong’s responses (real sockets)', () => {
  let slow: Upstream;
  let resetter: net.Server;
  let resetPort: number;

  beforeAll(async () => {
    slow = await startUpstream((req, res) => {
      const delay = req.url?.startsWith('/slow-body') ? 0 : 2_000;
      setTimeout(() => {
        if (res.destroyed) return;
        res.writeHead(200, { 'content-type': 'text/plain' });
        if (req.url?.startsWith('/slow-body')) {
          res.write('partial');
          return; // never ends: the read timeout fires mid-body
        }
        res.end('late');
      }, delay);
    });
    resetter = net.createServer((socket) => {
      socket.once('data', () => socket.resetAndDestroy());
    });
    resetter.listen(0, '127.0.0.1');
    await once(resetter, 'listening');
    resetPort = (resetter.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await slow.close();
    await new Promise<void>((resolve) => resetter.close(() => resolve()));
  });

  it('answers 502 when the upstream refuses the connection', async () => {
    const { proxy, port } = await startProxy(
      config([service('s', await closedPort())], [route('r', 's', { paths: ['/'] })]),
    );
    try {
      const reply = await call(port, '/x');
      expect(reply.status).toBe(502);
      expect(JSON.parse(reply.body.toString())).toEqual({
        message: 'An invalid response was received from the upstream server',
      });
      expect(reply.headers['x-gatehouse-error-code']).toBe('GH_ERR_PROXY_UPSTREAM_UNAVAILABLE');
    } finally {
      await proxy.close();
    }
  });

  it('answers 502 when the upstream resets the connection', async () => {
    const { proxy, port } = await startProxy(
      config([service('s', resetPort)], [route('r', 's', { paths: ['/'] })]),
    );
    try {
      const reply = await call(port, '/x');
      expect(reply.status).toBe(502);
      expect(reply.headers['content-type']).toMatch(/^application\/json/);
    } finally {
      await proxy.close();
    }
  });

  it('answers 504 when the upstream does not answer within read_timeout', async () => {
    const { proxy, port } = await startProxy(
      config([service('s', slow.port, { read_timeout: 150 })], [route('r', 's', { paths: ['/'] })]),
    );
    try {
      const reply = await call(port, '/slow');
      expect(reply.status).toBe(504);
      expect(JSON.parse(reply.body.toString())).toEqual({ message: 'The upstream server is timing out' });
      expect(reply.headers['x-gatehouse-error-code']).toBe('GH_ERR_PROXY_UPSTREAM_TIMEOUT');
    } finally {
      await proxy.close();
    }
  });

  it('cuts the client response when the upstream stalls mid-body past read_timeout', async () => {
    const { proxy, port } = await startProxy(
      config([service('s', slow.port, { read_timeout: 150 })], [route('r', 's', { paths: ['/'] })]),
    );
    try {
      await expect(call(port, '/slow-body')).rejects.toThrow();
    } finally {
      await proxy.close();
    }
  });

  it('keeps serving the old configuration when apply() gets one it cannot compile', async () => {
    const upstream = await startUpstream();
    const { proxy, port } = await startProxy(
      config([service('s', upstream.port)], [route('r', 's', { paths: ['/ok'] })]),
    );
    try {
      let thrown: unknown;
      try {
        proxy.apply(config([service('s', upstream.port)], [route('bad', 's', { paths: ['~/(broken'] })]));
      } catch (e) {
        thrown = e;
      }
      expect(isGatehouseError(thrown)).toBe(true);
      expect((thrown as { code: string }).code).toBe('GH_ERR_ROUTER_INVALID_REGEX');
      expect((await call(port, '/ok')).status).toBe(200);
    } finally {
      await proxy.close();
      await upstream.close();
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { GatehouseConfig } from '@gatehouse/shared';
import { config, route, service, startProxy, startUpstream, type Upstream } from './helpers.js';

describe('config swaps under load (real sockets)', () => {
  let a: Upstream;
  let b: Upstream;

  beforeAll(async () => {
    const named = (name: string) => (_req: http.IncomingMessage, res: http.ServerResponse) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': name.length });
      res.end(name);
    };
    a = await startUpstream(named('a'));
    b = await startUpstream(named('b'));
  });

  afterAll(async () => {
    await a.close();
    await b.close();
  });

  it('serves every request while apply() runs repeatedly, moving the service between upstreams', async () => {
    // Each config moves the service to the other upstream (its old pool is retired by draining)
    // and adds a growing number of unrelated routes, so every apply() compiles a new router.
    const configFor = (i: number): GatehouseConfig => {
      const target = i % 2 === 0 ? a : b;
      const routes = [route('main', 's', { paths: ['/load'] })];
      for (let n = 0; n < i % 50; n++) routes.push(route(`extra-${n}`, 'other', { paths: [`/extra/${n}`] }));
      return config([service('s', target.port), service('other', b.port)], routes);
    };
    const { proxy, port } = await startProxy(configFor(0));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    let applies = 0;
    let stop = false;
    const swapper = (async () => {
      while (!stop) {
        proxy.apply(configFor(++applies));
        await new Promise((r) => setImmediate(r));
      }
    })();

    const seen = { a: 0, b: 0 };
    const failures: string[] = [];
    const one = (): Promise<void> =>
      new Promise((resolve) => {
        http
          .get({ host: '127.0.0.1', port, path: '/load', agent }, (res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => {
              if (res.statusCode !== 200) failures.push(`${res.statusCode}: ${body}`);
              else if (body === 'a' || body === 'b') seen[body]++;
              else failures.push(`unexpected body ${body}`);
              resolve();
            });
          })
          .on('error', (e) => {
            failures.push(String(e));
            resolve();
          });
      });

    const workers = Array.from({ length: 16 }, async () => {
      for (let i = 0; i < 150; i++) await one();
    });
    await Promise.all(workers);
    stop = true;
    await swapper;
    agent.destroy();
    await proxy.close();

    expect(failures).toEqual([]);
    expect(seen.a + seen.b).toBe(16 * 150);
    expect(applies).toBeGreaterThan(50);
    expect(seen.a).toBeGreaterThan(0);
    expect(seen.b).toBeGreaterThan(0);
  });
});

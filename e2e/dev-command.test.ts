/**
 * `gatehouse dev` (what `npm start` runs): brings up a CP and a DP as separate processes,
 * prints the URLs, serves a route created through the Admin API, and Ctrl-C stops both.
 */
import { request as httpsRequest } from 'node:https';
import { describe, expect, it } from 'vitest';
import {
  adminJson,
  freePort,
  httpStatus,
  runGatehouse,
  startUpstream,
  tempDir,
  waitUntil,
} from './helpers/processes.js';

describe('gatehouse dev', () => {
  it('starts a control plane and a data plane, serves traffic and the admin UI, and stops both on SIGINT', async () => {
    const [proxy, proxySsl, admin, cluster, status, gui] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    const upstream = await startUpstream();
    const dev = runGatehouse('dev', [
      'dev',
      '--data-dir',
      tempDir('dev'),
      '--workers',
      '1',
      '--proxy-port',
      String(proxy),
      '--proxy-ssl-port',
      String(proxySsl),
      '--admin-port',
      String(admin),
      '--cluster-port',
      String(cluster),
      '--status-port',
      String(status),
      '--admin-gui-port',
      String(gui),
    ]);
    try {
      await waitUntil(
        'dev stack URLs printed',
        async () => {
          if (!dev.alive) throw new Error(dev.output);
          return dev.output.includes('Gatehouse is up');
        },
        90_000,
      );
      expect(dev.output).toContain(`http://127.0.0.1:${admin}`);
      expect(dev.output).toContain(`http://127.0.0.1:${proxy}`);
      // The admin UI's build, served by the CP process, pointed at this CP's Admin API.
      expect(dev.output).toContain(`Admin UI       http://127.0.0.1:${gui}`);
      const page = await fetch(`http://127.0.0.1:${gui}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<div id="app">');
      expect(await (await fetch(`http://127.0.0.1:${gui}/gatehouse-ui.json`)).json()).toMatchObject({
        admin_api_url: `http://127.0.0.1:${admin}`,
      });

      const adminUrl = `http://127.0.0.1:${admin}`;
      expect((await adminJson(adminUrl, 'POST', '/services', { name: 's', url: upstream.url })).status).toBe(
        201,
      );
      expect(
        (await adminJson(adminUrl, 'POST', '/routes', { paths: ['/dev'], service: { name: 's' } })).status,
      ).toBe(201);
      await waitUntil(
        'route served',
        async () => (await httpStatus(`http://127.0.0.1:${proxy}/dev`)) === 200,
      ).catch((e: Error) => {
        // It failed once in CI (connection refused for 30 s after "Gatehouse is up"): keep the
        // stack's own log in the failure.
        throw new Error(`${e.message}\n--- gatehouse dev output ---\n${dev.output.slice(-6000)}`);
      });
      // The DP dials the CP by the name its certificate holds, not by 127.0.0.1: no IP address
      // as the TLS server name, so a new user's first start prints no deprecation warning.
      expect(dev.output).not.toContain('DEP0123');
      // The HTTPS listener serves the same routes (self-signed default certificate).
      const tlsStatus = await new Promise<number>((resolve, reject) => {
        const req = httpsRequest(
          { host: '127.0.0.1', port: proxySsl, path: '/dev', rejectUnauthorized: false },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end();
      });
      expect(tlsStatus).toBe(200);

      dev.child.kill('SIGINT');
      expect(await dev.exited).toBe(0);
      await expect(httpStatus(`http://127.0.0.1:${admin}/`)).rejects.toThrow();
      await expect(httpStatus(`http://127.0.0.1:${proxy}/dev`)).rejects.toThrow();
    } finally {
      await dev.stop();
      await upstream.close();
    }
  });

  it('refuses a bad setting with a message naming it', async () => {
    const dev = runGatehouse('dev', ['dev', '--proxy-port', 'eighty']);
    expect(await dev.exited).toBe(2);
    expect(dev.output).toContain('--proxy-port');
  });
});

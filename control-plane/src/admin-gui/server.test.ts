import fc from 'fast-check';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { resolveAdminTls } from '../admin/admin-tls.js';
import { browserApiUrl, createAdminGuiApp, startAdminGui } from './server.js';

const quietLogger = () => pino({ level: 'silent' });

async function serve(dir: string, apiUrl: string) {
  const server = createServer(createAdminGuiApp({ dir, apiUrl: () => apiUrl }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  return { base, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('admin UI server', () => {
  it('hands the browser the Admin API it listens on, or on all addresses the host the browser used', () => {
    expect(browserApiUrl('http://127.0.0.1:8001', { headers: { host: 'evil.example:8002' } })).toBe(
      'http://127.0.0.1:8001',
    );
    expect(browserApiUrl('http://0.0.0.0:8001', { headers: { host: 'gw.internal:8002' } })).toBe(
      'http://gw.internal:8001',
    );
    expect(browserApiUrl('http://[::]:8001', { headers: {} })).toBe('http://127.0.0.1:8001');
  });

  it('answers any Host header with an origin and never throws', () => {
    fc.assert(
      fc.property(fc.string(), (host) => {
        const url = browserApiUrl('http://0.0.0.0:8001', { headers: { host } });
        expect(new URL(url).origin).toBe(url);
        expect(url.endsWith(':8001')).toBe(true);
      }),
    );
  });

  it('serves the build with a CSP naming only the Admin API, and says so when there is no build', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gui-'));
    const missing = await serve(dir, 'http://127.0.0.1:8001');
    try {
      const r = await fetch(`${missing.base}/`);
      expect(r.status).toBe(503);
      expect(await r.text()).toContain("run 'npm run build'");
    } finally {
      await missing.close();
    }
    writeFileSync(join(dir, 'index.html'), '<div id="app"></div>');
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'assets', 'a-1.js'), 'export {}');
    const built = await serve(dir, 'http://127.0.0.1:8001');
    try {
      const page = await fetch(`${built.base}/`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toContain(
        "connect-src 'self' http://127.0.0.1:8001;",
      );
      expect(page.headers.get('cache-control')).toBe('no-cache');
      expect((await fetch(`${built.base}/assets/a-1.js`)).headers.get('cache-control')).toContain(
        'immutable',
      );
      expect((await fetch(`${built.base}/assets/missing.js`)).status).toBe(404);
      expect((await fetch(`${built.base}/%2e%2e/%2e%2e/etc/passwd`)).status).toBe(404);
      const uiJson = (await (await fetch(`${built.base}/gatehouse-ui.json`)).json()) as {
        admin_api_url: string;
        credentials: { kind: string; label: string; path: string }[];
        plugin_parents: string[];
      };
      expect(uiJson.admin_api_url).toBe('http://127.0.0.1:8001');
      // The consumer credential kinds come from the entity registry, with their nested paths.
      expect(uiJson.credentials).toContainEqual({
        kind: 'basicauth_credentials',
        label: expect.any(String) as string,
        path: 'basic-auth',
      });
      expect(uiJson.credentials.map((c) => c.kind)).not.toContain('plugins');
      // Where plugins nest (an entity's Plugins list), from the registry too.
      expect(uiJson.plugin_parents).toEqual(
        expect.arrayContaining(['services', 'routes', 'consumers', 'consumer_groups']),
      );
    } finally {
      await built.close();
    }
  });
});

/** A port free right now on 127.0.0.1. */
async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** GET over HTTPS trusting only `ca`. */
function httpsGet(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    httpsRequest(url, { ca }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

describe('admin UI over HTTPS (admin_gui_listen … ssl)', () => {
  it('serves an ssl listener with the certificate, handing it the HTTPS Admin API; plain ones the plain one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gui-tls-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>ui</title>');
    const tls = await resolveAdminTls({ dataDir: dir, listenHost: '127.0.0.1' });
    const [sslPort, plainPort] = [await freePort(), await freePort()];
    const gui = await startAdminGui(
      [
        { host: '127.0.0.1', port: sslPort, ssl: true },
        { host: '127.0.0.1', port: plainPort, ssl: false },
      ],
      {
        dir,
        apiUrl: () => 'http://127.0.0.1:8001',
        httpsApiUrl: () => 'https://127.0.0.1:8444',
        tls,
        logger: quietLogger(),
      },
    );
    try {
      expect(gui.urls).toEqual([`https://127.0.0.1:${sslPort}`, `http://127.0.0.1:${plainPort}`]);
      const page = await httpsGet(`https://127.0.0.1:${sslPort}/`, tls.cert);
      expect(page.status).toBe(200);
      expect(page.body).toContain('<title>ui</title>');
      const ui = await httpsGet(`https://127.0.0.1:${sslPort}/gatehouse-ui.json`, tls.cert);
      expect(JSON.parse(ui.body)).toMatchObject({ admin_api_url: 'https://127.0.0.1:8444' });
      const plain = (await (await fetch(`http://127.0.0.1:${plainPort}/gatehouse-ui.json`)).json()) as {
        admin_api_url: string;
      };
      expect(plain.admin_api_url).toBe('http://127.0.0.1:8001');
      // Not served in clear text on the TLS port.
      await expect(fetch(`http://127.0.0.1:${sslPort}/`)).rejects.toThrow();
    } finally {
      await gui.close();
    }
  });

  it('refuses an ssl listener without a certificate, naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gui-tls-'));
    await expect(
      startAdminGui([{ host: '127.0.0.1', port: await freePort(), ssl: true }], {
        dir,
        apiUrl: () => 'http://127.0.0.1:8001',
        logger: quietLogger(),
      }),
    ).rejects.toMatchObject({ code: 'GH_ERR_CONFIG_INVALID_SETTING' });
  });
});

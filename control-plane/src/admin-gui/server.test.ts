import fc from 'fast-check';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { browserApiUrl, createAdminGuiApp } from './server.js';

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

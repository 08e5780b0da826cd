/**
 * The admin UI's listeners (Kong's `admin_gui_listen`): the static build of `ui/` served by the
 * control-plane process, plus `/gatehouse-ui.json`, which tells the browser where the Admin API is
 * (Kong's `admin_gui_api_url`; default the CP's own Admin API) and which consumer credential kinds
 * the registry has. The UI talks only to that API;
 * these listeners serve files and nothing else.
 */
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import { ConfigErrors, CREDENTIAL_KINDS, ENTITIES } from '@gatehouse/shared';
import express from 'express';
import type { Logger } from 'pino';
import type { GuiListener } from '../admin/access-settings.js';
import { createAdminHttpsServer, type AdminTlsMaterial } from '../admin/admin-tls.js';

export interface AdminGuiOptions {
  /** The folder with the UI's `index.html` and `assets/` (ui/dist). */
  dir: string;
  /** The Admin API the UI calls: a fixed URL, or the CP's own (host filled in from the request when it listens on all addresses). */
  apiUrl: () => string;
  /** The Admin API a page served over HTTPS calls (the HTTPS Admin API's); default `apiUrl`. */
  httpsApiUrl?: () => string;
  /** The certificate of the `ssl` listeners (admin-tls.ts); required when there is one. */
  tls?: AdminTlsMaterial;
  logger: Logger;
}

/** A consumer credential kind as the UI lists it: `/consumers/{c}/{path}`, its schema `/schemas/{kind}`. */
export interface UiCredentialKind {
  kind: string;
  label: string;
  path: string;
}

/** The consumer credential kinds, from the entity registry (the UI shows one list per kind). */
export const UI_CREDENTIALS: readonly UiCredentialKind[] = CREDENTIAL_KINDS.flatMap((kind) => {
  const nest = ENTITIES[kind].admin?.nested?.find((n) => n.parent === 'consumers');
  return nest ? [{ kind, label: ENTITIES[kind].label, path: nest.path }] : [];
});

/** The collections plugins nest under (`/services/{id}/plugins`, …), from the entity registry. */
export const UI_PLUGIN_PARENTS: readonly string[] = (ENTITIES.plugins.admin?.nested ?? []).map(
  (n) => n.parent,
);

const WILDCARD_HOSTS = new Set(['0.0.0.0', '[::]', '::']);

/**
 * The Admin API URL to hand a browser: the configured one, with an all-addresses host replaced by
 * the name the browser reached the UI under (the Admin API listens on that interface too).
 */
export function browserApiUrl(apiUrl: string, req: Pick<IncomingMessage, 'headers'>): string {
  const url = new URL(apiUrl);
  if (!WILDCARD_HOSTS.has(url.hostname)) return url.origin;
  const host = req.headers.host;
  if (host === undefined) return `${url.protocol}//127.0.0.1:${url.port}`;
  try {
    url.hostname = new URL(`http://${host}`).hostname;
  } catch {
    url.hostname = '127.0.0.1';
  }
  return url.origin;
}

/** The headers every UI answer carries: a CSP that allows only our files and the one Admin API. */
function securityHeaders(api: string): Record<string, string> {
  return {
    'Content-Security-Policy': [
      "default-src 'self'",
      `connect-src 'self' ${api}`,
      "img-src 'self' data:",
      "style-src 'self'",
      "script-src 'self'",
      "object-src 'none'",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join('; '),
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
  };
}

/** The UI's express app (exported for tests). */
export function createAdminGuiApp(o: Omit<AdminGuiOptions, 'logger'>): express.Express {
  const app = express();
  app.disable('x-powered-by');
  const built = existsSync(join(o.dir, 'index.html'));
  app.use((req, res, next) => {
    res.set(securityHeaders(browserApiUrl(o.apiUrl(), req)));
    next();
  });
  app.get('/gatehouse-ui.json', (req, res) => {
    res.set('Cache-Control', 'no-store');
    res.json({
      admin_api_url: browserApiUrl(o.apiUrl(), req),
      credentials: UI_CREDENTIALS,
      plugin_parents: UI_PLUGIN_PARENTS,
    });
  });
  if (!built) {
    app.use((_req, res) => {
      res
        .status(503)
        .type('text/plain')
        .send(`The admin UI is not built (no ${join(o.dir, 'index.html')}): run 'npm run build'.\n`);
    });
    return app;
  }
  // Hashed file names under assets/ never change; index.html must be fetched fresh.
  app.use(
    '/assets',
    express.static(join(o.dir, 'assets'), {
      immutable: true,
      maxAge: '365d',
      index: false,
      fallthrough: false,
    }),
  );
  app.use(
    express.static(o.dir, {
      index: 'index.html',
      setHeaders: (res, path) => {
        if (path.endsWith('.html')) res.setHeader('Cache-Control', 'no-cache');
      },
    }),
  );
  app.use((_req, res) => {
    res.status(404).type('text/plain').send('Not found\n');
  });
  return app;
}

/** Opens one server per listener: HTTP, or HTTPS for an `ssl` one (Kong's `admin_gui_listen … ssl`). */
export async function startAdminGui(
  listeners: readonly GuiListener[],
  o: AdminGuiOptions,
): Promise<{ urls: string[]; close(): Promise<void> }> {
  const app = createAdminGuiApp(o);
  const sslApp = createAdminGuiApp({ ...o, apiUrl: o.httpsApiUrl ?? o.apiUrl });
  if (!existsSync(join(o.dir, 'index.html')))
    o.logger.warn({ dir: o.dir }, "the admin UI is not built: run 'npm run build'");
  const servers: Server[] = [];
  const urls: string[] = [];
  const close = () =>
    Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((r) => {
            s.close(() => r());
            s.closeAllConnections();
          }),
      ),
    ).then(() => undefined);
  try {
    for (const l of listeners) {
      if (l.ssl && !o.tls)
        throw ConfigErrors.invalidSetting(`the admin UI listener ${l.host}:${l.port} ssl has no certificate`);
      const server = l.ssl ? createAdminHttpsServer(sslApp, o.tls!) : createServer(app);
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(l.port, l.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      urls.push(`${l.ssl ? 'https' : 'http'}://${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}`);
    }
  } catch (e) {
    await close();
    throw e;
  }
  return { urls, close };
}

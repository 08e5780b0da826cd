/**
 * The admin UI's browser tests' setup: a real CP (serving the UI's build on its admin GUI
 * listener, an admin token required), a real DP, an upstream, and Debian's Chromium driven by
 * playwright-core, collecting console errors; screenshots go to e2e/artifacts/admin-ui/ (ignored
 * by git).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import {
  freePort,
  ROOT,
  startCp,
  startDp,
  startUpstream,
  tempDir,
  type CpHandle,
  type DpHandle,
} from './processes.js';

export const CHROMIUM = '/usr/bin/chromium';
// ENVIRONMENT.md's flags (headless is playwright's own option).
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
export const ARTIFACTS = join(ROOT, 'e2e', 'artifacts', 'admin-ui');

export interface AdminUiStack {
  upstream: Awaited<ReturnType<typeof startUpstream>>;
  cp: CpHandle;
  dp: DpHandle;
  browser: Browser;
  page: Page;
  /** The UI's base URL (the CP's admin GUI listener). */
  ui: string;
  /** The UI over HTTPS, with `guiSsl`. */
  uiHttps?: string;
  token: string;
  /** Page errors and console errors, as they happen. */
  consoleErrors: string[];
  /**
   * The page's last Admin API exchanges (`+412ms GET /consumers/bob/basic-auth → 200 (+431ms)`),
   * for a failed test to print: what the page asked and in which order the answers came.
   */
  recentExchanges: () => string[];
  /** The Admin API with the admin token. */
  admin: (
    method: string,
    path: string,
    body?: unknown,
  ) => Promise<{ status: number; json: Record<string, unknown> }>;
  /** A full-page screenshot to e2e/artifacts/admin-ui/<name>.png. */
  shot: (name: string) => Promise<void>;
  stop: () => Promise<void>;
}

export interface AdminUiStackOptions {
  /** More CP arguments (`--enforce-rbac on`, …). */
  cpArgs?: string[];
  /** More CP environment. */
  cpEnv?: NodeJS.ProcessEnv;
  /** The DP's node id (the fleet's and analytics' `data_plane`). */
  nodeId?: string;
  /** More DP arguments (`--traffic-summary-interval 1000`, …). */
  dpArgs?: string[];
  /** Also serve the UI over HTTPS (`--admin-gui-listen "… ssl"`, the generated certificate): `uiHttps`. */
  guiSsl?: boolean;
}

/**
 * Starts an upstream, a CP with the UI (admin token `token`; with `--enforce-rbac on` it seeds the
 * super admin `kong_admin`), a DP and a 1280×800 page.
 */
export async function startAdminUiStack(
  name: string,
  token: string,
  options: AdminUiStackOptions = {},
): Promise<AdminUiStack> {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run installs it)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  const upstream = await startUpstream();
  const guiPort = await freePort();
  const sslPort = options.guiSsl ? await freePort() : undefined;
  const guiListen = [`127.0.0.1:${guiPort}`, ...(sslPort ? [`127.0.0.1:${sslPort} ssl`] : [])].join(',');
  const cp = await startCp({
    dataDir: tempDir(`${name}-cp`),
    args: ['--admin-gui-listen', guiListen, ...(options.cpArgs ?? [])],
    env: { GATEHOUSE_ADMIN_TOKEN: token, ...options.cpEnv },
    adminToken: token,
  });
  const dp = await startDp({
    cluster: `127.0.0.1:${cp.clusterPort}`,
    publicKeys: cp.publicKeys,
    dataDir: tempDir(`${name}-dp`),
    workers: 1,
    ...(options.nodeId ? { nodeId: options.nodeId } : {}),
    ...(options.dpArgs ? { args: options.dpArgs } : {}),
  });
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const consoleErrors: string[] = [];
  page.on('dialog', (d) => void d.accept());
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
  page.on('console', (m: ConsoleMessage) => {
    if (m.type() === 'error') consoleErrors.push(`${m.text()} (${m.location().url})`);
  });
  const exchanges: string[] = [];
  const t0 = Date.now();
  const adminOrigin = new URL(cp.admin).origin;
  page.on('requestfinished', (request) => {
    const url = new URL(request.url());
    if (url.origin !== adminOrigin) return;
    const t = request.timing();
    void request.response().then(
      async (r) => {
        // A list's answer names the rows it held (their name, username, key or kid).
        const body = r && url.searchParams.has('size') ? await r.text().catch(() => '') : '';
        const rows = [...body.matchAll(/"(?:name|username|key|kid|target)":"([^"]{0,40})"/g)].map(
          (m) => m[1],
        );
        exchanges.push(
          `+${Math.round(t.startTime - t0)}ms ${request.method()} ${url.pathname}${url.search} → ${r?.status() ?? '?'} (+${Math.round(t.startTime + t.responseEnd - t0)}ms)${body ? ` [${rows.join(', ')}]` : ''}`,
        );
        if (exchanges.length > 60) exchanges.shift();
      },
      () => undefined,
    ); // the page closed first: nothing to note
  });
  return {
    upstream,
    cp,
    dp,
    browser,
    page,
    ui: `http://127.0.0.1:${guiPort}`,
    ...(sslPort ? { uiHttps: `https://127.0.0.1:${sslPort}` } : {}),
    token,
    consoleErrors,
    recentExchanges: () => [...exchanges],
    admin: (method, path, body) =>
      fetch(`${cp.admin}${path}`, {
        method,
        headers: { 'kong-admin-token': token, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      }).then(async (r) => ({
        status: r.status,
        json: (r.status === 204 ? {} : await r.json()) as Record<string, unknown>,
      })),
    shot: async (shotName) => {
      await page.screenshot({ path: join(ARTIFACTS, `${shotName}.png`), fullPage: true });
    },
    stop: async () => {
      await browser.close();
      await dp.proc.stop();
      await cp.proc.stop();
      await upstream.close();
    },
  };
}

/** Signs in on the sign-in screen with the keyboard and waits for the navigation. */
export async function signIn(page: Page, token: string): Promise<void> {
  await page.getByLabel('Admin token').fill(token);
  await page.keyboard.press('Enter');
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
}

/**
 * Console errors but the Admin API answers a test asked for (Chromium logs a 4xx as a failed
 * resource): `statuses` are the ones expected from the Admin API at `admin`.
 */
export function unexpectedConsoleErrors(errors: string[], admin: string, statuses: number[]): string[] {
  const expected = new RegExp(
    `Failed to load resource: the server responded with a status of (${statuses.join('|')})`,
  );
  return errors.filter((e) => !expected.test(e) || !e.includes(admin));
}

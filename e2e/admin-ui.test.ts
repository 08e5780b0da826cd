/**
 * The admin UI in a real browser (Debian's Chromium driven by playwright-core) against a real
 * CP (serving the UI's build on its admin GUI listener, admin token required) and a real DP:
 * sign in, create a service, a route and a key-auth credential through the UI, see the fleet view
 * show the DP in sync with the new version, and proxy with and without the key. Screenshots of
 * each screen go to e2e/artifacts/admin-ui/ (ignored by git).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signIn, startAdminUiStack, unexpectedConsoleErrors, type AdminUiStack } from './helpers/admin-ui.js';
import { adminJson, httpStatus, waitUntil } from './helpers/processes.js';

const TOKEN = 'ui-e2e-admin-token-0123456789';

describe('admin UI in a browser', () => {
  let stack: AdminUiStack;

  beforeAll(async () => {
    stack = await startAdminUiStack('admin-ui', TOKEN);
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('is served by the CP with a CSP that allows only itself and the Admin API', async () => {
    const { ui, cp } = stack;
    const res = await fetch(`${ui}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain(`connect-src 'self' ${cp.admin}`);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(await (await fetch(`${ui}/gatehouse-ui.json`)).json()).toMatchObject({ admin_api_url: cp.admin });
    expect(await httpStatus(`${ui}/assets/../../../etc/passwd`)).toBe(404);
  });

  it('signs in, creates a service, a route and key-auth, and shows the DP reaching the new version', async () => {
    const { page, ui, cp, dp, upstream, admin, shot, consoleErrors } = stack;
    await page.goto(`${ui}/`);
    // The Admin API wants a token: the sign-in screen, operated from the keyboard.
    await page.getByLabel('Admin token').waitFor();
    await shot('sign-in');
    await page.keyboard.type('not-the-token-at-all');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#admin-token-error').textContent()).toContain('not accepted');
    await signIn(page, TOKEN);

    // Gateway services: create through Kong's form (GatewayServiceForm); its first text control,
    // the full URL, has the focus; Enter submits it.
    await page.getByRole('button', { name: 'New gateway service' }).click();
    await expect
      .poll(() => page.locator(':focus').getAttribute('data-testid'))
      .toBe('gateway-service-url-input');
    await page.keyboard.type(upstream.url);
    await page.getByTestId('gateway-service-name-input').fill('orders');
    await page.keyboard.press('Enter');
    await page.getByRole('cell', { name: 'orders', exact: true }).waitFor();
    // Edit and delete: a throwaway service renamed, then deleted (the dialog is accepted).
    await page.getByRole('button', { name: 'New gateway service' }).click();
    await page.getByTestId('gateway-service-url-input').fill('http://127.0.0.1:9/');
    await page.getByTestId('gateway-service-name-input').fill('scratch');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('button', { name: 'Edit scratch' }).click();
    // Kong's form fetches the service it edits.
    const editName = page.getByTestId('gateway-service-name-input');
    await expect.poll(() => editName.inputValue()).toBe('scratch');
    await editName.fill('scratch-renamed');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('cell', { name: 'scratch-renamed', exact: true }).waitFor();
    expect((await admin('GET', '/services/scratch-renamed')).status).toBe(200);
    await page.getByRole('button', { name: 'Delete scratch-renamed' }).click();
    await page.getByRole('cell', { name: 'scratch-renamed', exact: true }).waitFor({ state: 'detached' });
    expect((await admin('GET', '/services/scratch-renamed')).status).toBe(404);
    await shot('services');

    // Routes, in Kong's form (RouteForm): an invalid path first, and the server's message beside
    // that path's input; nothing saved.
    await page.getByRole('link', { name: 'Routes', exact: true }).click();
    await page.getByRole('button', { name: 'New route' }).click();
    await page.getByTestId('route-form-service-id').click();
    await page.getByRole('option', { name: /orders/ }).click();
    await page.getByTestId('route-form-name').fill('orders-route');
    // Kong's route form starts a route at HTTPS only (Kong Manager's default): HTTP too.
    await page.getByTestId('route-form-config-type-advanced').check();
    await page.getByTestId('route-form-protocols').click();
    await page.getByRole('option', { name: 'HTTP, HTTPS', exact: true }).click();
    const path = page.getByTestId('route-form-paths-input-1');
    await path.fill('no-leading-slash');
    await page.getByRole('button', { name: 'Save' }).click();
    const pathsError = page.locator('[data-error-for="paths.0"]');
    await expect.poll(() => pathsError.textContent()).toContain('should start with: /');
    expect(await path.getAttribute('aria-invalid')).toBe('true');
    expect(await path.getAttribute('aria-describedby')).toContain((await pathsError.getAttribute('id'))!);
    // Beside its field: right after the input's box.
    expect(
      await pathsError.evaluate(
        (el) => el.previousElementSibling?.querySelector('[data-testid="route-form-paths-input-1"]') !== null,
      ),
    ).toBe(true);
    expect((await admin('GET', '/routes/orders-route')).status).toBe(404);
    await shot('route-validation');
    // Editing the path takes its message away.
    await path.fill('/orders');
    expect(await pathsError.count()).toBe(0);
    expect(await path.getAttribute('aria-invalid')).toBeNull();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('cell', { name: 'orders-route', exact: true }).waitFor();
    await shot('routes');

    // Consumers and a key-auth credential.
    await page.getByRole('link', { name: 'Consumers', exact: true }).click();
    await page.getByRole('button', { name: 'New consumer' }).click();
    await page.getByTestId('consumer-form-username').fill('alice');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('button', { name: 'Open alice' }).click();
    await page.getByRole('button', { name: 'New key-auth credential of alice' }).click();
    // Kong's credential form (PluginForm in credential mode).
    await page
      .getByRole('region', { name: 'New key-auth credential' })
      .locator('#key')
      .fill('alice-secret-key');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('alice-secret-key', { exact: true }).waitFor();
    await shot('consumers');

    // key-auth on the route, in Kong's plugin form (entities-plugins) generated from
    // /schemas/plugins/key-auth: scoped to the route picked by name.
    await page.getByRole('link', { name: 'Plugins', exact: true }).click();
    await page.getByRole('button', { name: 'New plugin' }).click();
    await page.locator('#plugin-name').selectOption('key-auth');
    const keyNames = page.getByTestId('config-key_names-item-0').locator('input');
    await expect.poll(() => keyNames.inputValue()).toBe('apikey');
    await page.locator('label.Scoped-check input').check();
    await page.locator('#route-id').click();
    await page.getByRole('option', { name: /orders-route/ }).click();
    await shot('plugin-form');
    const cpVersion = async () =>
      ((await admin('GET', '/clustering/status')).json.control_plane as { version: number }).version;
    const before = await cpVersion();
    await page.getByTestId('plugin-create-form-submit').click();
    await page.getByRole('cell', { name: 'route orders-route', exact: true }).waitFor();
    // The save's propagation, in the header: the CP's new version reaching the one DP.
    await expect
      .poll(async () => [(await page.getByTestId('propagation').textContent())?.trim(), await cpVersion()], {
        timeout: 30_000,
      })
      .toSatisfy(([text, v]) => (v as number) > before && text === `Config version ${v}: 1 of 1 data planes`);
    await shot('plugins');

    // Fleet: the DP runs the version that last save produced (the CP's latest, newer than before it).
    await page.getByRole('link', { name: 'Fleet', exact: true }).click();
    const row = page.locator('tr[data-dp]');
    await expect
      .poll(
        async () => [
          await row.locator('[data-col="sync"]').textContent(),
          await row.locator('[data-col="config-version"]').textContent(),
          String(await cpVersion()),
        ],
        { timeout: 30_000 },
      )
      .toSatisfy(([sync, dpVersion, cp]) => sync === 'in sync' && dpVersion === cp && Number(cp) > before);
    const latest = await cpVersion();
    await expect.poll(() => page.getByTestId('fleet-summary').textContent()).toContain(`version ${latest}`);
    expect(await page.getByTestId('fleet-summary').textContent()).toContain('1 of 1 data planes in sync');
    await shot('fleet');
    await page.emulateMedia({ colorScheme: 'dark' });
    const dark = await page.evaluate('getComputedStyle(document.body).backgroundColor');
    await page.emulateMedia({ colorScheme: 'light' });
    const light = await page.evaluate('getComputedStyle(document.body).backgroundColor');
    expect(dark).not.toBe(light);
    await page.emulateMedia({ colorScheme: 'dark' });
    await shot('fleet-dark');
    await page.setViewportSize({ width: 400, height: 800 });
    await shot('fleet-narrow');
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.emulateMedia({ colorScheme: 'light' });

    // Through the DP: the key passes, no key gets 401.
    await waitUntil(
      'route served with the key',
      async () =>
        (await httpStatus(`${dp.proxy}/orders`, { headers: { apikey: 'alice-secret-key' } })) === 200,
    );
    expect(await httpStatus(`${dp.proxy}/orders`)).toBe(401);
    expect(await httpStatus(`${dp.proxy}/orders`, { headers: { apikey: 'wrong' } })).toBe(401);

    // What the UI made is what the Admin API holds.
    expect((await adminJson(cp.admin, 'GET', '/services/orders')).status).toBe(401); // no token: refused
    expect((await admin('GET', '/services/orders/routes')).json.data).toHaveLength(1);

    // No console errors but the Admin API answers the test asked for (the wrong token's 401 and
    // the invalid path's 400, which Chromium logs as failed resources).
    expect(unexpectedConsoleErrors(consoleErrors, cp.admin, [400, 401])).toEqual([]);
  });
});

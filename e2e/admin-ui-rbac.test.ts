/**
 * The admin UI with RBAC enforced (`GATEHOUSE_ENFORCE_RBAC=on`; the admin token seeds the super
 * admin `kong_admin`), in a real browser against a real CP and DP: the header shows who is signed
 * in with which roles and how many data planes are in sync; the Teams screens create an RBAC user
 * (its token shown once), give it a role, create a custom role with endpoint permissions; signed in
 * as that user the UI hides what its roles do not allow (no create on a read-only role, create on
 * services but not on routes with the custom role) and shows the Admin API's 403 message when a
 * role is taken away while signed in. Operated from the keyboard; no unexpected console errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signIn, startAdminUiStack, unexpectedConsoleErrors, type AdminUiStack } from './helpers/admin-ui.js';
import { waitUntil } from './helpers/processes.js';

const TOKEN = 'ui-rbac-e2e-super-admin-token-0123456789';

describe('admin UI with RBAC in a browser', () => {
  let stack: AdminUiStack;
  let viewerToken = '';

  beforeAll(async () => {
    stack = await startAdminUiStack('admin-ui-rbac', TOKEN, {
      cpEnv: { GATEHOUSE_ENFORCE_RBAC: 'on' },
      guiSsl: true,
    });
    await waitUntil('the DP connected', async () => {
      const list = (await stack.admin('GET', '/clustering/data-planes')).json.data as Array<{
        connected: boolean;
      }>;
      return list.length === 1 && list[0]!.connected;
    });
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
  });

  const signOut = async () => {
    await stack.page.getByRole('button', { name: 'Sign out' }).click();
    await stack.page.getByLabel('Admin token').waitFor();
  };

  it('signs in as the super admin and shows who, with which role, and the fleet in sync', async () => {
    const { page, ui, shot } = stack;
    await page.goto(`${ui}/`);
    await signIn(page, TOKEN);
    await expect.poll(() => page.getByTestId('identity').textContent()).toContain('kong_admin (super-admin)');
    await expect
      .poll(() => page.getByTestId('fleet-badge').textContent(), { timeout: 20_000 })
      .toContain('1 of 1 data planes in sync');
    const teams = page.getByRole('group', { name: 'Teams' });
    await teams.getByRole('link', { name: 'RBAC Users' }).waitFor();
    await shot('rbac-header');
  });

  it('is served over HTTPS too (admin_gui_listen … ssl), and signs in there', async () => {
    // The certificate is the CP's generated self-signed one: this browser context trusts it.
    const context = await stack.browser.newContext({
      ignoreHTTPSErrors: true,
      viewport: { width: 1280, height: 800 },
    });
    try {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${stack.uiHttps!}/`);
      expect(new URL(page.url()).protocol).toBe('https:');
      await signIn(page, TOKEN);
      await expect
        .poll(() => page.getByTestId('identity').textContent())
        .toContain('kong_admin (super-admin)');
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('creates an RBAC user from the keyboard, shows its token once, and gives it the read-only role', async () => {
    const { page, shot, admin } = stack;
    await page.getByRole('link', { name: 'RBAC Users' }).click();
    await page.getByRole('cell', { name: 'kong_admin', exact: true }).waitFor();
    await page.getByRole('button', { name: 'New RBAC user' }).click();
    await expect.poll(() => page.locator(':focus').getAttribute('id')).toBe('u-name');
    // A bad name first: the Admin API's message beside the field.
    await page.keyboard.type('bad/name');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#u-name-err').textContent()).toBeTruthy();
    expect(await page.locator('#u-name').getAttribute('aria-invalid')).toBe('true');
    await page.locator('#u-name').fill('viewer');
    await page.keyboard.press('Enter');
    const once = page.getByTestId('token-once');
    await once.waitFor();
    viewerToken = (await once.locator('code').textContent())!.trim();
    expect(viewerToken.length).toBeGreaterThanOrEqual(16);
    await shot('rbac-user-created');
    await once.getByRole('button', { name: 'Done' }).click();
    expect(await page.getByTestId('token-once').count()).toBe(0);

    await page.getByRole('button', { name: 'Roles of viewer' }).click();
    await expect.poll(() => page.locator(':focus').getAttribute('id')).toBe('user-roles-h');
    await page.locator('#role-add').selectOption('read-only');
    await page.locator('#role-add').focus();
    await page.keyboard.press('Tab');
    expect(await page.locator(':focus').textContent()).toBe('Add');
    await page.keyboard.press('Enter');
    await expect
      .poll(() => page.locator('tr[data-name="viewer"] td[data-col="roles"]').textContent())
      .toBe('read-only');
    const roles = (await admin('GET', '/rbac/users/viewer/roles')).json.roles as Array<{ name: string }>;
    expect(roles.map((r) => r.name)).toEqual(['read-only']);
  });

  it('creates a custom role with endpoint permissions, its mistakes shown beside the fields', async () => {
    const { page, admin, shot } = stack;
    await page.getByRole('link', { name: 'Roles' }).click();
    await page.getByRole('cell', { name: 'super-admin', exact: true }).waitFor();
    // Bundled roles cannot be deleted: no Delete button for them.
    expect(await page.getByRole('button', { name: 'Delete super-admin' }).count()).toBe(0);
    await page.getByRole('button', { name: 'New role' }).click();
    await page.keyboard.type('services-editor');
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Permissions of services-editor' }).click();
    // Checked before sending: no endpoint, no action.
    await page.locator('input[type="checkbox"][value="read"]').uncheck();
    await page.getByRole('button', { name: 'Add permission' }).click();
    await expect.poll(() => page.locator('#ep-endpoint-err').textContent()).toContain('required');
    // The Admin API's own check: an endpoint with a space.
    await page.locator('#ep-endpoint').fill('/a b');
    await page.locator('input[type="checkbox"][value="read"]').check();
    await page.getByRole('button', { name: 'Add permission' }).click();
    await expect.poll(() => page.locator('#ep-endpoint-err').textContent()).toContain('spaces');
    for (const [endpoint, actions] of [
      ['*', ['read']],
      ['/services', ['read', 'create']],
      ['/services/*', ['read', 'update']],
    ] as const) {
      await page.locator('#ep-endpoint').fill(endpoint);
      for (const a of ['read', 'create', 'update', 'delete'])
        await page
          .locator(`input[type="checkbox"][value="${a}"]`)
          .setChecked((actions as readonly string[]).includes(a));
      await page.locator('#ep-endpoint').press('Enter');
      await page.locator(`tr[data-endpoint="${endpoint}"]`).waitFor();
    }
    await shot('rbac-role-permissions');
    const eps = (await admin('GET', '/rbac/roles/services-editor/endpoints')).json.data as Array<{
      endpoint: string;
    }>;
    expect(eps.map((e) => e.endpoint).sort()).toEqual(['*', '/services', '/services/*']);
  });

  it('signed in as a read-only user, hides every write; the Admin API agrees', async () => {
    const { page, admin, shot } = stack;
    expect((await admin('POST', '/services', { name: 'seeded', url: 'http://127.0.0.1:9/' })).status).toBe(
      201,
    );
    await signOut();
    await signIn(page, viewerToken);
    await expect.poll(() => page.getByTestId('identity').textContent()).toContain('viewer (read-only)');
    await page.getByRole('link', { name: 'Gateway services' }).click();
    await page.getByRole('cell', { name: 'seeded', exact: true }).waitFor();
    expect(await page.getByRole('button', { name: 'New gateway service' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Edit seeded' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Delete seeded' }).count()).toBe(0);
    await page.getByRole('link', { name: 'RBAC Users' }).click();
    await page.getByRole('cell', { name: 'viewer', exact: true }).waitFor();
    expect(await page.getByRole('button', { name: 'New RBAC user' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Delete kong_admin' }).count()).toBe(0);
    await shot('rbac-read-only');
  });

  it('with the custom role, offers create on services but not on routes; a role taken away shows the 403', async () => {
    const { page, admin, ui, cp, consoleErrors } = stack;
    expect((await admin('POST', '/rbac/users/viewer/roles', { roles: 'services-editor' })).status).toBe(201);
    await fetch(`${cp.admin}/rbac/users/viewer/roles?roles=read-only`, {
      method: 'DELETE',
      headers: { 'kong-admin-token': TOKEN },
    });
    await page.goto(`${ui}/#/services`);
    await page.reload();
    await expect.poll(() => page.getByTestId('identity').textContent()).toContain('viewer (services-editor)');
    await page.getByRole('button', { name: 'New gateway service' }).waitFor();
    await page.getByRole('button', { name: 'Edit seeded' }).waitFor();
    expect(await page.getByRole('button', { name: 'Delete seeded' }).count()).toBe(0);
    await page.getByRole('link', { name: 'Routes' }).click();
    await page.getByRole('heading', { name: 'Routes' }).waitFor();
    expect(await page.getByRole('button', { name: 'New route' }).count()).toBe(0);

    // The role is taken away while signed in: the next write is refused with the Admin API's words.
    await page.getByRole('link', { name: 'Gateway services' }).click();
    await page.getByRole('button', { name: 'New gateway service' }).click();
    await page.getByTestId('gateway-service-url-input').waitFor();
    await fetch(`${cp.admin}/rbac/users/viewer/roles?roles=services-editor`, {
      method: 'DELETE',
      headers: { 'kong-admin-token': TOKEN },
    });
    await page.getByTestId('gateway-service-url-input').fill('http://127.0.0.1:9/');
    await page.getByTestId('gateway-service-name-input').fill('refused');
    await page.keyboard.press('Enter');
    // Kong's form (GatewayServiceForm) shows the Admin API's message in its alert, marked as a
    // refusal as on our own forms (the app's axios factory, ui/src/kong/axios.ts).
    await expect
      .poll(() => page.locator('.kong-form [data-testid="form-error"]').textContent())
      .toContain('Not allowed (403): viewer, you do not have permissions to create this resource');
    await stack.shot('rbac-403');
    expect((await admin('GET', '/services/refused')).status).toBe(404);
    expect(unexpectedConsoleErrors(consoleErrors, cp.admin, [400, 401, 403])).toEqual([]);
  });
});

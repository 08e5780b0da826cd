/**
 * The admin UI's operations screens in a real browser (Debian's Chromium driven by
 * playwright-core) against a real CP (admin token required) and a real DP: a service saved
 * through the UI and its per-DP propagation reaching "acked"; the fleet's DP detail; traffic
 * charts after requests through the DP; the config history's diff and a restore that makes a
 * route disappear from the DP; staged rollouts (start form, abort); the audit log showing the
 * writes; no console errors. Screenshots go to e2e/artifacts/admin-ui/ (ignored by git).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signIn, startAdminUiStack, type AdminUiStack } from './helpers/admin-ui.js';
import { httpStatus, waitUntil } from './helpers/processes.js';

const TOKEN = 'ui-ops-e2e-admin-token-0123456789';
const NODE_ID = 'ui-ops-dp-1';

describe('admin UI operations screens in a browser', () => {
  let stack: AdminUiStack;
  const admin = (method: string, path: string, body?: unknown) => stack.admin(method, path, body);
  const cpVersion = async () =>
    ((await admin('GET', '/clustering/status')).json.control_plane as { version: number }).version;
  const shot = (name: string) => stack.shot(name);
  const go = async (hash: string) => {
    await stack.page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
  };

  beforeAll(async () => {
    stack = await startAdminUiStack('admin-ui-ops', TOKEN, {
      nodeId: NODE_ID,
      dpArgs: ['--traffic-summary-interval', '1000'],
    });
    await stack.page.goto(`${stack.ui}/#/fleet`);
    await signIn(stack.page, TOKEN);
    await waitUntil('the DP connected', async () => {
      const list = (await admin('GET', '/clustering/data-planes')).json.data as Array<{ connected: boolean }>;
      return list.length === 1 && list[0]!.connected;
    });
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('shows a save reaching the data plane, then the DP in detail', async () => {
    // Save a service through the UI's form.
    await stack.page.getByRole('link', { name: 'Gateway services' }).click();
    await stack.page.getByRole('button', { name: 'New gateway service' }).click();
    await stack.page.getByTestId('gateway-service-url-input').fill(stack.upstream.url);
    await stack.page.getByTestId('gateway-service-name-input').fill('orders');
    await stack.page.getByRole('button', { name: 'Save' }).click();
    await stack.page.getByRole('cell', { name: 'orders', exact: true }).waitFor();
    const saved = await cpVersion();

    // The save's propagation, per DP: the one DP acks the new version.
    await stack.page.getByRole('link', { name: 'Fleet' }).click();
    const prop = stack.page.getByTestId('save-propagation');
    const dpRow = prop.locator('tr[data-dp]');
    await expect
      .poll(
        async () => [await dpRow.getAttribute('data-state'), await dpRow.locator('td').nth(3).textContent()],
        {
          timeout: 30_000,
        },
      )
      .toSatisfy(([state, v]) => state === 'acked' && Number(v) >= saved);
    expect(await stack.page.getByTestId('save-propagation-summary').textContent()).toContain(
      '1 acked, 0 pending',
    );
    // The fleet table's own columns: no NACK, and the expiry of the DP's cluster client certificate.
    const fleetRow = stack.page.locator('table.fleet tr[data-dp]');
    expect((await fleetRow.locator('[data-col="nack"]').textContent())?.trim()).toBe('—');
    expect((await fleetRow.locator('[data-col="cert-expiry"]').textContent())?.trim()).toMatch(
      /^in \d+ (d|h|min)$/,
    );
    await shot('ops-save-propagation');

    // The DP's detail page: its status, sync and what its heartbeat reports.
    await fleetRow.locator('a.dp-host').click();
    const detail = stack.page.getByTestId('dp-detail');
    await detail.waitFor();
    expect(stack.page.url()).toContain(`#/fleet/${NODE_ID}`);
    await expect.poll(() => detail.getByTestId('dp-status').textContent()).toContain('connected');
    await expect
      .poll(() => detail.getByTestId('dp-sync').textContent(), { timeout: 30_000 })
      .toContain('in sync');
    await detail.getByTestId('dp-health').waitFor({ timeout: 30_000 });
    await expect
      .poll(() => detail.getByTestId('dp-health').textContent(), { timeout: 30_000 })
      .toMatch(/Workers\s*1 of 1/);
    await shot('ops-dp-detail');
    await stack.page.getByRole('link', { name: 'Back to the fleet' }).click();
    await stack.page.getByTestId('fleet-summary').waitFor();
    // A hostile id in the hash: the page says so, it does not break.
    await go('#/fleet/%E0%A4%A<script>');
    await stack.page.getByText('No data plane with id').waitFor();
  });

  it('charts traffic through the DP, per service and per route', async () => {
    expect(
      (await admin('POST', '/services/orders/routes', { name: 'orders-route', paths: ['/orders'] })).status,
    ).toBe(201);
    await waitUntil('route served', async () => (await httpStatus(`${stack.dp.proxy}/orders`)) === 200);
    for (let i = 0; i < 40; i++) await httpStatus(`${stack.dp.proxy}/orders`);
    await go('#/traffic/services?window=5m');
    const charts = stack.page.getByTestId('traffic-charts');
    await charts.waitFor({ timeout: 40_000 });
    // Five charts (requests, error rate, p50, p95, p99), each drawn on a canvas by chart.js.
    await expect.poll(() => charts.locator('canvas').count()).toBe(5);
    await expect
      .poll(() =>
        charts
          .locator('canvas')
          .first()
          .evaluate(
            (c) =>
              (c as unknown as { width: number }).width > 0 &&
              (c as unknown as { height: number }).height > 0,
          ),
      )
      .toBe(true);
    await expect
      .poll(() => stack.page.getByTestId('traffic-table').locator('tbody tr').first().textContent(), {
        timeout: 30_000,
      })
      .toMatch(/^orders\s*4[1-9]|^orders\s*\d{2,}/);
    await shot('ops-traffic');
    await stack.page.getByTestId('traffic-dimension').selectOption('routes');
    await expect.poll(() => stack.page.url()).toContain('#/traffic/routes');
    await expect
      .poll(() => stack.page.getByTestId('traffic-table').locator('tbody tr').first().textContent(), {
        timeout: 20_000,
      })
      .toContain('orders-route');
  });

  it('diffs two versions and restores one, the route disappearing from the DP', async () => {
    const versions = (await admin('GET', '/config/versions')).json.data as Array<{
      version: number;
      summary: string;
    }>;
    const withRoute = versions[0]!.version;
    const beforeRoute = versions.find((v) => v.version < withRoute)!.version;
    await go('#/history');
    await stack.page.getByTestId('versions').locator(`tr[data-version="${withRoute}"]`).waitFor();
    await stack.page.getByTestId('diff-from').selectOption(String(beforeRoute));
    await stack.page.getByTestId('diff-to').selectOption(String(withRoute));
    await stack.page.getByRole('button', { name: 'Show diff' }).click();
    await expect
      .poll(() => stack.page.getByTestId('diff').textContent())
      .toContain("routesaddedroute 'orders-route'");
    await shot('ops-history-diff');

    // Restore the version before the route (the confirmation is accepted).
    await stack.page
      .getByTestId('versions')
      .locator(`tr[data-version="${beforeRoute}"]`)
      .getByRole('button', { name: 'Restore' })
      .click();
    await expect
      .poll(() => stack.page.getByTestId('restore-result').textContent())
      .toMatch(/restored as version \d+/);
    const dpRow = stack.page.getByTestId('save-propagation').locator('tr[data-dp]');
    await expect.poll(() => dpRow.getAttribute('data-state'), { timeout: 30_000 }).toBe('acked');
    await waitUntil(
      'route gone from the DP',
      async () => (await httpStatus(`${stack.dp.proxy}/orders`)) === 404,
    );
    expect((await admin('GET', '/routes/orders-route')).status).toBe(404);
    await shot('ops-history-restored');
  });

  it('starts a staged rollout from the form, shows its waves and aborts it', async () => {
    await go('#/rollouts');
    await stack.page.getByText('No rollout has been started.').waitFor();
    await stack.page.getByRole('button', { name: 'Start a rollout' }).click();
    // A fault the form names before sending.
    await stack.page.locator('#ro-waves').fill('150%');
    await stack.page.getByRole('button', { name: 'Start', exact: true }).click();
    await expect.poll(() => stack.page.locator('#ro-waves-err').textContent()).toContain('at most 100');
    // The current configuration unchanged: the server's refusal is shown.
    await stack.page.getByRole('button', { name: 'Load the current configuration' }).click();
    await expect.poll(() => stack.page.locator('#ro-config').inputValue()).toContain('orders');
    await stack.page.locator('#ro-waves').fill('canary=true');
    await stack.page.getByRole('button', { name: 'Start', exact: true }).click();
    await stack.page.locator('.start .form-error').waitFor();
    // A real change: one more service.
    const config = JSON.stringify({
      _format_version: '3.0',
      services: [
        { name: 'orders', url: stack.upstream.url },
        { name: 'canary-svc', url: 'http://127.0.0.1:9/' },
      ],
    });
    await stack.page.locator('#ro-config').fill(config);
    await stack.page.locator('#ro-soak').fill('600');
    await stack.page.getByRole('button', { name: 'Start', exact: true }).click();
    await expect.poll(() => stack.page.getByTestId('rollout-message').textContent()).toContain('started');
    const article = stack.page.locator('article.rollout').first();
    await expect.poll(() => article.textContent()).toContain('running');
    expect(await article.textContent()).toContain('DPs labelled canary=true');
    expect(await article.textContent()).toContain('every data plane');
    // The DP (no canary label) is held by the rollout, in its second wave: the API says so, and
    // the save's propagation says "held", not "pending".
    const rolloutId = ((await admin('GET', '/config/rollouts')).json.data as Array<{ id: string }>)[0]!.id;
    expect((await admin('GET', `/config/rollouts/${rolloutId}/data-planes`)).json.data).toEqual([
      expect.objectContaining({ id: NODE_ID, wave: 1, in_rolled_waves: false, held: true }),
    ]);
    const row = stack.page.locator(`[data-testid="save-propagation"] tr[data-dp="${NODE_ID}"]`);
    await expect.poll(() => row.getAttribute('data-state')).toBe('held');
    expect(await row.textContent()).toContain('until its wave (2) starts');
    await shot('ops-rollouts');
    await article.getByRole('button', { name: 'Abort' }).click();
    await expect.poll(() => article.locator('h2').textContent(), { timeout: 20_000 }).toContain('aborted');
    await expect
      .poll(
        async () =>
          ((await admin('GET', '/config/rollouts')).json.data as Array<{ state: string }>)[0]!.state,
      )
      .toBe('aborted');
  });

  it('lists the writes in the audit log, with paging and details', async () => {
    await go('#/audit/requests');
    const reqs = stack.page.getByTestId('audit-requests');
    await reqs.waitFor();
    const text = await reqs.textContent();
    expect(text).toContain('POST /services');
    expect(text).toMatch(/POST \/config\/versions\/\d+\/restore/);
    expect(text).toContain('POST /config/rollouts');
    await shot('ops-audit-requests');
    await stack.page.getByRole('link', { name: 'Entity changes' }).click();
    const objs = stack.page.getByTestId('audit-objects');
    await objs.waitFor();
    await stack.page.locator('input[name="dao_name"]').fill('routes');
    await stack.page.getByRole('button', { name: 'Filter' }).click();
    await expect
      .poll(async () => (await objs.locator('tbody tr').allTextContents()).join('|'))
      .toMatch(/delete\s*routes/);
    await objs.getByRole('button', { name: 'Show' }).first().click();
    await expect.poll(() => objs.locator('pre').first().textContent()).toContain('orders-route');
    await shot('ops-audit-objects');

    // The UI asked nothing that failed but the probe before signing in (401) and the rollout the
    // test meant to be refused (400).
    const unexpected = stack.consoleErrors.filter(
      (e) =>
        !/Failed to load resource: the server responded with a status of (400|401)/.test(e) ||
        !e.includes(stack.cp.admin),
    );
    expect(unexpected).toEqual([]);
  });
});

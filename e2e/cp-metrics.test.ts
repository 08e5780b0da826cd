/**
 * The control plane's /metrics on the Admin API port, with a real data plane connected: the
 * fleet by sync status and Kong's per-DP series, the published snapshot, the Admin API's own
 * latency; behind the admin token like every other Admin API path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCp, startDp, tempDir, waitUntil, type CpHandle, type DpHandle } from './helpers/processes.js';

const TOKEN = 'e2e-metrics-token-7c1e9a2b4d6f8e0a';
const auth = { 'kong-admin-token': TOKEN };

describe('control plane /metrics', () => {
  let cp: CpHandle;
  let dp: DpHandle;

  beforeAll(async () => {
    cp = await startCp({
      dataDir: tempDir('cp-metrics'),
      env: { GATEHOUSE_ADMIN_TOKEN: TOKEN },
      adminToken: TOKEN,
    });
    dp = await startDp({
      cluster: `127.0.0.1:${cp.clusterPort}`,
      publicKeys: cp.publicKeys,
      tls: cp.dpTlsArgs,
      dataDir: tempDir('dp-cp-metrics'),
      workers: 1,
      nodeId: 'b2a4c6d8-0000-4000-8000-00000000abcd',
    });
  }, 120_000);

  afterAll(async () => {
    await dp?.proc.stop();
    await cp?.proc.stop();
  });

  it('refuses a scrape without the admin token', async () => {
    expect((await fetch(`${cp.admin}/metrics`)).status).toBe(401);
  });

  it("counts connected data planes by sync status, with Kong's per-DP series", async () => {
    let text = '';
    await waitUntil(
      'DP counted as normal',
      async () => {
        text = await (await fetch(`${cp.admin}/metrics`, { headers: auth })).text();
        return /^gatehouse_cp_data_planes\{sync_status="normal",connected="true"\} 1$/m.test(text);
      },
      30_000,
    );
    expect(text).toMatch(
      /^kong_data_plane_config_hash\{node_id="b2a4c6d8-0000-4000-8000-00000000abcd",hostname="[^"]*",ip="[^"]*"\} \d/m,
    );
    expect(text).toMatch(
      /^kong_data_plane_version_compatible\{node_id="b2a4c6d8-0000-4000-8000-00000000abcd",[^}]*\} 1$/m,
    );
    expect(text).toMatch(
      /^kong_data_plane_last_seen\{node_id="b2a4c6d8-0000-4000-8000-00000000abcd",[^}]*\} \d+/m,
    );
  });

  it('reports the published snapshot and times Admin API requests', async () => {
    await fetch(`${cp.admin}/services`, { headers: auth });
    const text = await (await fetch(`${cp.admin}/metrics`, { headers: auth })).text();
    expect(Number(/^gatehouse_cp_snapshot_bytes (\S+)$/m.exec(text)?.[1])).toBeGreaterThan(0);
    expect(Number(/^gatehouse_cp_snapshot_build_seconds (\S+)$/m.exec(text)?.[1])).toBeGreaterThanOrEqual(0);
    expect(
      Number(/^gatehouse_cp_snapshot_builds_total\{result="published"\} (\S+)$/m.exec(text)?.[1]),
    ).toBeGreaterThanOrEqual(1);
    expect(
      Number(
        /^gatehouse_cp_admin_request_duration_seconds_count\{method="GET",code="200"\} (\S+)$/m.exec(
          text,
        )?.[1],
      ),
    ).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(
      /^gatehouse_cp_admin_request_duration_seconds_count\{method="GET",code="401"\} \d+$/m,
    );
  });
});

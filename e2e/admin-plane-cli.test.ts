/**
 * The secure admin plane as an operator sets it up, with real processes (issue 13):
 * - `GATEHOUSE_ENFORCE_RBAC=on` on a real `gatehouse cp`: the admin token seeds the super admin
 *   kong_admin; a request without a token is 401; a read-only user reads and is refused writes
 *   with 403; what it was refused left nothing behind.
 * - `gatehouse keys root --out DIR` then `gatehouse keys rotate --root-key …`: the CP signs with
 *   the certified key and holds no root private key; a DP given only the root public key serves
 *   the CP's config; `keys root` refuses to overwrite a root without --force.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  httpStatus,
  runGatehouseToEnd,
  startCp,
  startDp,
  startUpstream,
  tempDir,
  waitUntil,
  type CpHandle,
  type DpHandle,
} from './helpers/processes.js';

const TOKEN = 'e2e-rbac-super-admin-token-8c1f0e9d';

/** One Admin API call with an optional Kong-Admin-Token; status and parsed body. */
async function call(
  admin: string,
  method: string,
  path: string,
  token?: string,
  body?: unknown,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies of many shapes
): Promise<{ status: number; json: any }> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers['kong-admin-token'] = token;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(`${admin}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null };
}

const gatehouse = runGatehouseToEnd;

describe('RBAC switched on with GATEHOUSE_ENFORCE_RBAC=on on a real control plane', () => {
  let cp: CpHandle | undefined;
  afterAll(async () => {
    await cp?.proc.stop();
  });

  it('seeds kong_admin from the admin token, refuses token-less calls (401) and a read-only user’s writes (403)', async () => {
    cp = await startCp({
      dataDir: tempDir('rbac-env'),
      env: {
        GATEHOUSE_ENFORCE_RBAC: 'on',
        GATEHOUSE_ADMIN_TOKEN: TOKEN,
        GATEHOUSE_ADMIN_TOKEN_FILE: undefined,
      },
      adminToken: TOKEN,
    });
    const admin = cp.admin;

    const anonymous = await call(admin, 'GET', '/services');
    expect(anonymous.status).toBe(401);
    expect(anonymous.json).toHaveProperty('message');

    const me = await call(admin, 'GET', '/rbac/users/kong_admin/roles', TOKEN);
    expect(me.status).toBe(200);
    expect(JSON.stringify(me.json)).toContain('super-admin');

    const created = await call(admin, 'POST', '/rbac/users', TOKEN, { name: 'reader' });
    expect(created.status).toBe(201);
    const readerToken = created.json.user_token as string;
    expect(typeof readerToken).toBe('string');
    expect(
      (await call(admin, 'POST', '/rbac/users/reader/roles', TOKEN, { roles: 'read-only' })).status,
    ).toBe(201);

    expect((await call(admin, 'GET', '/services', readerToken)).status).toBe(200);
    const refused = await call(admin, 'POST', '/services', readerToken, {
      name: 'nope',
      url: 'http://127.0.0.1:9',
    });
    expect(refused.status).toBe(403);
    expect(refused.json).toHaveProperty('message');
    expect((await call(admin, 'GET', '/services/nope', TOKEN)).status).toBe(404);

    expect((await call(admin, 'GET', '/services', 'not-a-token-of-anyone')).status).toBe(401);
    expect(
      (await call(admin, 'POST', '/services', TOKEN, { name: 'yes', url: 'http://127.0.0.1:9' })).status,
    ).toBe(201);
  }, 120_000);
});

describe('gatehouse keys root / rotate: a root kept outside the control plane', () => {
  let upstream: Awaited<ReturnType<typeof startUpstream>> | undefined;
  let cp: CpHandle | undefined;
  let dp: DpHandle | undefined;
  afterAll(async () => {
    await Promise.all([dp?.proc.stop(), cp?.proc.stop()]);
    await upstream?.close();
  });

  it('a CP signing with a key certified by an offline root is served by a DP given only the root public key', async () => {
    const offline = tempDir('offline-root');
    const rooted = await gatehouse(['keys', 'root', '--out', offline]);
    expect(rooted.code, rooted.output).toBe(0);
    const privateFile = join(offline, 'snapshot-root.key.json');
    const publicFile = join(offline, 'snapshot-root.pub.json');
    expect(statSync(privateFile).mode & 0o777).toBe(0o600);
    const pub = JSON.parse(readFileSync(publicFile, 'utf8')) as { keys: Array<Record<string, unknown>> };
    expect(pub.keys).toHaveLength(1);
    expect(pub.keys[0]).not.toHaveProperty('d');

    const again = await gatehouse(['keys', 'root', '--out', offline]);
    expect(again.code).not.toBe(0);
    expect(again.output).toContain('--force');

    const cpDir = tempDir('offline-root-cp');
    const keysDir = join(cpDir, 'keys');
    const rotated = await gatehouse(['keys', 'rotate', '--root-key', privateFile, '--dir', keysDir]);
    expect(rotated.code, rotated.output).toBe(0);
    expect(existsSync(join(keysDir, 'snapshot-root.key.json'))).toBe(false);

    upstream = await startUpstream();
    cp = await startCp({ dataDir: cpDir });
    expect(existsSync(join(keysDir, 'snapshot-root.key.json'))).toBe(false);
    const keys = (await (await fetch(`${cp.admin}/clustering/keys`)).json()) as {
      mode: string;
      data: Array<{ certified: boolean }>;
    };
    expect(keys.mode).toBe('root');
    expect(keys.data.length).toBeGreaterThan(0);
    expect(keys.data.every((k) => k.certified)).toBe(true);

    dp = await startDp({
      cluster: `127.0.0.1:${cp.clusterPort}`,
      publicKeys: cp.publicKeys,
      rootKey: publicFile,
      tls: cp.dpTlsArgs,
      dataDir: tempDir('offline-root-dp'),
      workers: 1,
    });
    const svc = await call(cp.admin, 'POST', '/services', undefined, { name: 'echo', url: upstream.url });
    expect(svc.status).toBe(201);
    expect(
      (await call(cp.admin, 'POST', '/services/echo/routes', undefined, { paths: ['/echo'] })).status,
    ).toBe(201);
    await waitUntil('route served by the DP trusting only the offline root', async () => {
      return (await httpStatus(`${dp!.proxy}/echo`)) === 200;
    });
  }, 180_000);
});

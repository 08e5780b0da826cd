/**
 * Admin API access on real `gatehouse cp` processes (issue 8 item 5): a CP refuses to listen on a
 * non-loopback address without an admin token; with one, every call needs it and
 * `gatehouse config import --admin-url` sends it from GATEHOUSE_ADMIN_TOKEN; a cross-site form
 * POST is refused by a default (loopback, no token) CP.
 */
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runGatehouse, startCp, tempDir, type CpHandle } from './helpers/processes.js';

const TOKEN = 'e2e-admin-token-5f1d2c3b4a596877';
const NO_TOKEN_ENV = { GATEHOUSE_ADMIN_TOKEN: undefined, GATEHOUSE_ADMIN_TOKEN_FILE: undefined };

function post(url: string, path: string, headers: Record<string, string>, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, method: 'POST', path, headers }, (res) => {
      res.resume().on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('Admin API access on a real control plane', () => {
  const cps: CpHandle[] = [];
  afterAll(async () => {
    await Promise.all(cps.map((c) => c.proc.stop()));
  });

  it('refuses to start on 0.0.0.0 without a token, naming the setting', async () => {
    const p = runGatehouse(
      'cp',
      [
        'cp',
        '--dev',
        '--data-dir',
        tempDir('notoken'),
        '--admin-listen',
        '0.0.0.0:0',
        '--cluster-listen',
        '127.0.0.1:0',
      ],
      NO_TOKEN_ENV,
    );
    expect(await p.exited).toBe(1);
    expect(p.output).toContain('not a loopback address');
    expect(p.output).toContain('--admin-token (GATEHOUSE_ADMIN_TOKEN)');
    expect(p.output).toContain('--admin-token-file');
  });

  it('refuses a short token', async () => {
    const p = runGatehouse(
      'cp',
      ['cp', '--dev', '--data-dir', tempDir('short'), '--admin-listen', '127.0.0.1:0'],
      {
        GATEHOUSE_ADMIN_TOKEN: 'short',
      },
    );
    expect(await p.exited).toBe(1);
    expect(p.output).toContain('GATEHOUSE_ADMIN_TOKEN');
    expect(p.output).toContain('at least 16');
  });

  it('with a token on 0.0.0.0: every call needs it, and gatehouse config --admin-url sends it', async () => {
    const dir = tempDir('token');
    const tokenFile = join(dir, 'admin-token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    const cp = await startCp({
      dataDir: join(dir, 'cp'),
      adminHost: '0.0.0.0',
      adminToken: TOKEN,
      args: ['--admin-token-file', tokenFile],
      env: NO_TOKEN_ENV,
    });
    cps.push(cp);

    const anon = await fetch(`${cp.admin}/services`);
    expect(anon.status).toBe(401);
    expect(await anon.json()).toEqual({ message: 'Invalid credentials. Token or User credentials required' });
    expect(
      (await fetch(`${cp.admin}/services`, { headers: { 'kong-admin-token': 'x'.repeat(32) } })).status,
    ).toBe(401);

    const file = join(dir, 'kong.yaml');
    writeFileSync(
      file,
      '_format_version: "3.0"\nservices:\n  - name: tokened\n    url: http://127.0.0.1:9/\n    routes:\n      - name: r\n        paths: [/t]\n',
    );
    const without = runGatehouse('config', ['config', 'import', file, '--admin-url', cp.admin], NO_TOKEN_ENV);
    expect(await without.exited).toBe(1);
    expect(without.output).toContain('401');
    expect(without.output).toContain('--admin-token (GATEHOUSE_ADMIN_TOKEN)');

    const withToken = runGatehouse('config', ['config', 'import', file, '--admin-url', cp.admin], {
      GATEHOUSE_ADMIN_TOKEN: TOKEN,
    });
    expect(await withToken.exited, withToken.output).toBe(0);
    expect(withToken.output).toContain("create service 'tokened'");
    expect(withToken.output).toContain('applied');

    const viaFile = runGatehouse(
      'config',
      ['config', 'export', '--admin-url', cp.admin, '--admin-token-file', tokenFile],
      NO_TOKEN_ENV,
    );
    expect(await viaFile.exited, viaFile.output).toBe(0);
    expect(viaFile.output).toContain('name: tokened');

    const services = await fetch(`${cp.admin}/services`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(services.status).toBe(200);
    expect(((await services.json()) as { data: { name: string }[] }).data.map((s) => s.name)).toEqual([
      'tokened',
    ]);
  });

  it('a default CP (loopback, no token) refuses the cross-site form POST and creates nothing', async () => {
    const cp = await startCp({ dataDir: tempDir('origin'), env: NO_TOKEN_ENV });
    cps.push(cp);
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    expect(
      await post(cp.admin, '/consumers', { ...form, origin: 'http://evil.example' }, 'username=mallory'),
    ).toBe(403);
    expect(
      await post(cp.admin, '/consumers', { ...form, host: 'evil.example:8001' }, 'username=rebound'),
    ).toBe(403);
    expect(await post(cp.admin, '/consumers', form, 'username=curl')).toBe(201);
    const list = (await (await fetch(`${cp.admin}/consumers`)).json()) as { data: { username: string }[] };
    expect(list.data.map((c) => c.username)).toEqual(['curl']);
  });
});

/**
 * F23, the admin plane.
 *
 * - Exposure: a control plane process on its default configuration (`gatehouse cp --dev`, no
 *   listen setting, no GATEHOUSE_* variable) in a network namespace of its own (netns.ts), so its
 *   default ports are free there whatever runs on this machine. From the host end of the veth
 *   pair, a TCP connect to the namespace's address on every port the CP listens on (its
 *   `ss -ltn` in the namespace): non-loopback connects 0. Two controls: the Admin API answers
 *   200 on the namespace's loopback, and a listener on 0.0.0.0 in the namespace is reached from
 *   the host (the path works, so a refused connect means the CP is not listening there).
 * - RBAC: a control plane with `enforceRbac` on; every Admin API route (read from its router) ×
 *   its methods and one it lacks × each bundled role and a role-less user (test/admin/rbac-matrix.ts,
 *   shared with the RBAC contract): unauthorized successes 0; every answer as documented.
 * - Audit: every write the matrix sent, allowed or refused, has its entry in `/audit/requests`
 *   under its `X-Kong-Admin-Request-ID`: coverage 100 %.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlPlane } from '../../../control-plane/src/control-plane.js';
import { databaseDir } from '../../../control-plane/src/data-folder.js';
import { GATEHOUSE } from '../../../e2e/helpers/processes.js';
import { matrixAnswerRight, matrixCases, roleAllows, ROLES, type Role } from '../../admin/rbac-matrix.js';
import { quietLogger } from '../../helpers/db.js';
import { seedPglite } from '../../helpers/pglite-template.js';
import { sleep, waitUntil } from '../fleet.js';
import { NetNs } from '../netns.js';
import { exactly, holds, type Figure, type Row } from '../row.js';

/** Whether a TCP connect to host:port succeeds within 2 s. */
function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: 2000 });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true));
    s.once('timeout', () => done(false));
    s.once('error', () => done(false));
  });
}

/** The TCP ports listening in the namespace, with their local addresses. */
function listening(ns: NetNs): { addr: string; port: number }[] {
  return ns
    .exec('ss', '-Hltn')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const local = line.trim().split(/\s+/)[3]!;
      const at = local.lastIndexOf(':');
      return { addr: local.slice(0, at), port: Number(local.slice(at + 1)) };
    });
}

async function exposure(log: (l: string) => void): Promise<Figure[]> {
  const ns = NetNs.create('adm');
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-chaos-admin-'));
  try {
    await seedPglite(databaseDir(dir));
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      GATEHOUSE_LOG_LEVEL: 'info',
    };
    const cp = ns.spawn(GATEHOUSE, ['cp', '--dev', '--data-dir', dir], env);
    let output = '';
    cp.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
    cp.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
    try {
      await waitUntil(
        'the control plane in the namespace',
        async () => {
          if (cp.exitCode !== null) throw new Error(`cp exited:\n${output}`);
          return output.includes('"control plane ready"');
        },
        90_000,
      );
      const ready = JSON.parse(output.split('\n').find((l) => l.includes('"control plane ready"'))!) as {
        adminUrl: string;
      };
      const adminPort = Number(new URL(ready.adminUrl).port);
      await sleep(1000); // every listener up
      const ports = listening(ns);
      const inside = ns.exec(
        'curl',
        '-s',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        `http://127.0.0.1:${adminPort}/`,
      );
      // The control: a listener on every address in the namespace is reachable from the host.
      const probe = ns.spawn(
        process.execPath,
        [
          '-e',
          "require('net').createServer(s=>s.end()).listen(0,'0.0.0.0',function(){console.log(this.address().port)})",
        ],
        env,
      );
      const [line] = (await once(probe.stdout!, 'data')) as [Buffer];
      const probeReached = await connects(ns.nsIp, Number(String(line).trim()));
      probe.kill('SIGKILL');
      let reached = 0;
      for (const p of ports) {
        if (await connects(ns.nsIp, p.port)) {
          reached++;
          log(`reached ${ns.nsIp}:${p.port} (listening on ${p.addr})`);
        }
      }
      log(
        `the CP listens on ${ports.map((p) => `${p.addr}:${p.port}`).join(', ')} (admin ${adminPort}); from the host: ${reached} of ${ports.length} reached; inside: ${inside}; control listener reached: ${probeReached}`,
      );
      return [
        exactly('non-loopback connects to the CP (default config)', reached, 0, ports.length),
        holds('the Admin API answers on the namespace loopback (control)', inside === '200'),
        holds('a 0.0.0.0 listener in the namespace is reached (control)', probeReached),
      ];
    } finally {
      cp.kill('SIGTERM');
      const killer = setTimeout(() => cp.kill('SIGKILL'), 10_000);
      if (cp.exitCode === null) await once(cp, 'exit');
      clearTimeout(killer);
    }
  } finally {
    ns.remove();
    rmSync(dir, { recursive: true, force: true });
  }
}

const ADMIN_TOKEN = 'chaos-f23-admin-token-0123456789abcdef';

async function rbacAndAudit(log: (l: string) => void): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-chaos-rbac-'));
  await seedPglite(databaseDir(dir));
  const cp = await startControlPlane({
    adminListen: { host: '127.0.0.1', port: 0 },
    clusterListen: { host: '127.0.0.1', port: 0 },
    dataDir: dir,
    dev: true,
    adminToken: ADMIN_TOKEN,
    enforceRbac: true,
    loginThrottle: { maxFailures: 1_000_000, windowMs: 3_600_000 },
    logger: quietLogger('cp'),
  });
  try {
    const call = async (method: string, path: string, token: string, body?: unknown) => {
      const headers: Record<string, string> = { 'kong-admin-token': token };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const r = await fetch(cp.adminUrl + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await r.text();
      let json: { message?: unknown; user_token?: string; data?: unknown[] } | undefined;
      try {
        json = text ? (JSON.parse(text) as typeof json) : undefined;
      } catch {
        json = undefined;
      }
      return { status: r.status, json, requestId: r.headers.get('x-kong-admin-request-id') };
    };
    const tokens: Partial<Record<Role | 'none', string>> = {};
    for (const role of [...ROLES, 'none'] as const) {
      const u = await call('POST', '/rbac/users', ADMIN_TOKEN, { name: `matrix-${role}` });
      if (u.status !== 201) throw new Error(`creating matrix-${role}: ${u.status}`);
      tokens[role] = u.json!.user_token!;
      if (role !== 'none')
        await call('POST', `/rbac/users/matrix-${role}/roles`, ADMIN_TOKEN, { roles: role });
    }
    const cases = matrixCases(cp.adminRoutes());
    let unauthorized = 0;
    let wrong = 0;
    const writes: string[] = [];
    let writesWithoutId = 0;
    const queue = [...cases];
    const worker = async () => {
      for (let c = queue.shift(); c; c = queue.shift()) {
        const r = await call(c.method, c.path, tokens[c.role]!);
        if (!roleAllows(c.role, c.method, c.path) && r.status < 400) {
          unauthorized++;
          log(`unauthorized success: ${c.role} ${c.method} ${c.path} → ${r.status}`);
        }
        if (!matrixAnswerRight(c, r.status, r.json?.message)) {
          wrong++;
          if (wrong <= 5)
            log(`unexpected answer: ${c.role} ${c.method} ${c.path} → ${r.status} ${JSON.stringify(r.json)}`);
        }
        if (c.method !== 'GET') {
          if (r.requestId) writes.push(r.requestId);
          else writesWithoutId++;
        }
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
    let audited = 0;
    const ids = [...writes];
    const check = async () => {
      for (let id = ids.shift(); id; id = ids.shift()) {
        const r = await call('GET', `/audit/requests?request_id=${encodeURIComponent(id)}`, ADMIN_TOKEN);
        if (r.status === 200 && (r.json?.data?.length ?? 0) >= 1) audited++;
      }
    };
    await Promise.all(Array.from({ length: 4 }, check));
    const sent = writes.length + writesWithoutId;
    log(
      `${cases.length} role × route × method cases: ${unauthorized} unauthorized successes, ${wrong} answers not as documented; ${audited} of ${sent} writes audited`,
    );
    return [
      exactly('unauthorized successes', unauthorized, 0, cases.length),
      exactly('answers not as documented (403 wording, allowed ones not refused)', wrong, 0, cases.length),
      {
        measured: 'audit coverage of writes',
        value: `${sent === 0 ? 0 : ((100 * audited) / sent).toFixed(1)} % (${audited} of ${sent})`,
        bound: '100 %',
        pass: sent > 0 && audited === sent,
      },
    ];
  } finally {
    await cp.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export const F23: Row = {
  id: 'F23',
  fault: 'admin plane: exposure from another netns, RBAC matrix, audit',
  async run(_profile, log) {
    return [...(await exposure(log)), ...(await rbacAndAudit(log))];
  },
};

/**
 * Issue 8 item 12: header hygiene and request-line rules, through real data plane processes and
 * raw sockets (no client library normalises what is sent). Every refusal is a status line and a
 * JSON body from the error table, never a reset.
 *
 * - `dp`: defaults (no trusted proxy; header names with `_` dropped).
 * - `trusting`: `--trusted-ips 127.0.0.1,::1 --underscores-in-headers`.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { IDENTITY_SPOOF } from '../data-plane/src/proxy/fixtures/header-corpus.js';
import { rawGet, rawHttp, type RawReply } from './helpers/raw-http.js';
import { startDblessDp, tempDir, type Proc } from './helpers/processes.js';

interface Echo {
  url: string;
  rawHeaders: string[];
}

function echoed(reply: RawReply): Echo {
  expect(reply.status, reply.raw).toBe(200);
  return JSON.parse(reply.body) as Echo;
}

/** The header names the upstream received, lower-cased. */
function namesOf(echo: Echo): string[] {
  return echo.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
}

function valueOf(echo: Echo, name: string): string | undefined {
  const i = echo.rawHeaders.findIndex((n, j) => j % 2 === 0 && n.toLowerCase() === name);
  return i < 0 ? undefined : echo.rawHeaders[i + 1];
}

function expectTableError(reply: RawReply, status: number, code: string): void {
  expect(reply.status, reply.raw).toBe(status);
  expect(reply.headers['x-gatehouse-error-code']).toBe(code);
  expect(reply.headers['content-type']).toContain('application/json');
  expect(typeof (JSON.parse(reply.body) as { message: unknown }).message).toBe('string');
}

/** The forged identity headers (one corpus, shared with the chaos row F20). */
const IDENTITY = IDENTITY_SPOOF;

describe('proxy header hygiene through a real data plane', () => {
  let upstream: Server;
  let dp: Proc;
  let trusting: Proc;
  let port: number;
  let trustingPort: number;

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ url: req.url, rawHeaders: req.rawHeaders }));
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    const dir = tempDir('headers');
    const file = join(dir, 'kong.yaml');
    writeFileSync(
      file,
      stringify({
        _format_version: '3.0',
        services: [
          {
            name: 'echo',
            url: `http://127.0.0.1:${(upstream.address() as { port: number }).port}`,
            routes: [
              { name: 'open', paths: ['/echo'] },
              { name: 'auth', paths: ['/auth'], plugins: [{ name: 'key-auth' }] },
              { name: 'hosted', paths: ['/hosted'], hosts: ['abs.example'], strip_path: false },
            ],
          },
        ],
        consumers: [{ username: 'ops', keyauth_credentials: [{ key: 'ops-secret-key' }] }],
      }),
    );
    const [a, b] = await Promise.all([
      startDblessDp({ file, dataDir: join(dir, 'dp'), workers: 1 }),
      startDblessDp({
        file,
        dataDir: join(dir, 'dp-trusting'),
        workers: 1,
        args: ['--trusted-ips', '127.0.0.1,::1', '--underscores-in-headers'],
      }),
    ]);
    dp = a.proc;
    trusting = b.proc;
    port = Number(new URL(a.proxy).port);
    trustingPort = Number(new URL(b.proxy).port);
  });

  afterAll(async () => {
    await Promise.all([dp?.stop(), trusting?.stop()]);
    upstream?.closeAllConnections();
    await new Promise((r) => upstream?.close(r));
  });

  it('never forwards Proxy (httpoxy)', async () => {
    for (const path of ['/echo', '/auth']) {
      const echo = echoed(
        await rawGet(port, path, ['Proxy: http://evil.example:3128', 'apikey: ops-secret-key']),
      );
      expect(namesOf(echo)).not.toContain('proxy');
    }
  });

  it('clears client-sent identity headers on an authenticated route; the gateway sets its own', async () => {
    const echo = echoed(await rawGet(port, '/auth', [...IDENTITY, 'apikey: ops-secret-key']));
    const names = namesOf(echo);
    for (const h of [
      'x-authenticated-groups',
      'x-authenticated-scope',
      'x-authenticated-userid',
      'x-credential-username',
      'x_consumer_id',
      'x_consumer_username',
    ])
      expect(names).not.toContain(h);
    expect(valueOf(echo, 'x-consumer-username')).toBe('ops');
    expect(names.filter((n) => n === 'x-consumer-id')).toHaveLength(1);
    expect(valueOf(echo, 'x-consumer-id')).not.toBe('forged');
  });

  it('drops header names with underscores by default, on any route', async () => {
    const echo = echoed(await rawGet(port, '/echo', ['X_Custom: 1', 'X-Dashed: 2']));
    expect(namesOf(echo)).not.toContain('x_custom');
    expect(valueOf(echo, 'x-dashed')).toBe('2');
  });

  it('--underscores-in-headers keeps them, but never an underscore twin of an identity header on an auth route', async () => {
    const open = echoed(await rawGet(trustingPort, '/echo', ['X_Custom: 1']));
    expect(valueOf(open, 'x_custom')).toBe('1');
    const auth = echoed(await rawGet(trustingPort, '/auth', [...IDENTITY, 'apikey: ops-secret-key']));
    const names = namesOf(auth);
    expect(names).not.toContain('x_consumer_id');
    expect(names).not.toContain('x_consumer_username');
    expect(names).not.toContain('x-authenticated-scope');
    expect(valueOf(auth, 'x-consumer-username')).toBe('ops');
  });

  it('forwards Forwarded only from a trusted proxy', async () => {
    const forwarded = 'Forwarded: for=198.51.100.7;proto=https;host=evil.example';
    expect(namesOf(echoed(await rawGet(port, '/echo', [forwarded])))).not.toContain('forwarded');
    expect(valueOf(echoed(await rawGet(trustingPort, '/echo', [forwarded])), 'forwarded')).toBe(
      'for=198.51.100.7;proto=https;host=evil.example',
    );
  });

  it('refuses a duplicate Host and a Host with /, spaces or userinfo (400)', async () => {
    const send = (hostLines: string[]): Promise<RawReply> =>
      rawHttp(port, ['GET /echo HTTP/1.1', ...hostLines, 'Connection: close', '', ''].join('\r\n'));
    expectTableError(await send(['Host: a.example', 'Host: b.example']), 400, 'GH_ERR_PROXY_BAD_HOST');
    expectTableError(await send(['Host: a.example/x']), 400, 'GH_ERR_PROXY_BAD_HOST');
    expectTableError(await send(['Host: a.example b.example']), 400, 'GH_ERR_PROXY_BAD_HOST');
    expectTableError(await send(['Host: user:pw@a.example']), 400, 'GH_ERR_PROXY_BAD_HOST');
    expectTableError(await send([]), 400, 'GH_ERR_PROXY_BAD_HOST');
    expect((await send(['Host: a.example:8000'])).status).toBe(200);
    expect((await send(['Host: [::1]:8000'])).status).toBe(200);
    // HTTP/1.0 needs no Host.
    expect((await rawHttp(port, 'GET /echo HTTP/1.0\r\n\r\n')).status).toBe(200);
  });

  it('takes the host of an absolute-form target from the URL (RFC 9112 §3.2.2)', async () => {
    const reply = await rawHttp(
      port,
      'GET http://abs.example/hosted?q=1 HTTP/1.1\r\nHost: other.example\r\nConnection: close\r\n\r\n',
    );
    const echo = echoed(reply);
    expect(echo.url).toBe('/hosted?q=1');
    expect(valueOf(echo, 'x-forwarded-host')).toBe('abs.example');
    expectTableError(
      await rawHttp(port, 'GET http://u@abs.example/hosted HTTP/1.1\r\nHost: abs.example\r\n\r\n'),
      400,
      'GH_ERR_PROXY_BAD_HOST',
    );
    expectTableError(
      await rawHttp(port, 'GET ftp://abs.example/hosted HTTP/1.1\r\nHost: abs.example\r\n\r\n'),
      400,
      'GH_ERR_PROXY_BAD_REQUEST',
    );
  });

  it('answers TRACE and CONNECT with 405', async () => {
    expectTableError(
      await rawHttp(port, 'TRACE /echo HTTP/1.1\r\nHost: gw.example\r\n\r\n'),
      405,
      'GH_ERR_PROXY_METHOD_NOT_ALLOWED',
    );
    expectTableError(
      await rawHttp(port, 'CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n'),
      405,
      'GH_ERR_PROXY_METHOD_NOT_ALLOWED',
    );
  });

  it('answers an HTTP/0.9-style request line and Transfer-Encoding on HTTP/1.0 with 400', async () => {
    expectTableError(await rawHttp(port, 'GET /echo\r\n\r\n'), 400, 'GH_ERR_PROXY_BAD_VERSION');
    expectTableError(
      await rawHttp(port, 'POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'),
      400,
      'GH_ERR_PROXY_BAD_FRAMING',
    );
    // What node's parser refuses itself is answered from the table too (clientError).
    expectTableError(
      await rawHttp(port, 'GET /a\x00b HTTP/1.1\r\nHost: a\r\n\r\n'),
      400,
      'GH_ERR_PROXY_BAD_REQUEST',
    );
  });

  it('property: hostile header sets never give a 5xx or a reset, and never smuggle an identity header past auth', async () => {
    const names = fc.constantFrom(
      'Proxy',
      'X_Consumer_ID',
      'X_Consumer_Username',
      'x_any_thing',
      'X-Authenticated-Groups',
      'X-Authenticated-Scope',
      'X-Authenticated-Userid',
      'X-Credential-Username',
      'X-Consumer-ID',
      'X-Consumer-Groups',
      'X-Anonymous-Consumer',
      'Host',
      'Forwarded',
      'X-Forwarded-For',
      'X-Forwarded-Host',
      'Connection',
      'Via',
      'apikey',
    );
    const value = fc.stringMatching(/^[!-~][ -~]{0,24}$/);
    const headerSet = fc.array(fc.tuple(names, value), { maxLength: 8 });
    const path = fc.constantFrom('/auth', '/echo', '/auth/..%2Fecho', '/hosted');
    await fc.assert(
      fc.asyncProperty(headerSet, path, fc.boolean(), async (headers, target, withKey) => {
        const lines = headers.map(([n, v]) => `${n}: ${v}`);
        if (withKey) lines.push('apikey: ops-secret-key');
        const reply = await rawGet(port, target, lines);
        expect(reply.status, reply.raw).not.toBeNull();
        expect(reply.status!).toBeLessThan(500);
        if (reply.status !== 200) return;
        const echo = JSON.parse(reply.body) as Echo;
        const got = namesOf(echo);
        expect(got).not.toContain('proxy');
        expect(got.some((n) => n.includes('_'))).toBe(false);
        if (target === '/auth') {
          expect(got.some((n) => n.startsWith('x-authenticated-'))).toBe(false);
          expect(got).not.toContain('x-credential-username');
          expect(valueOf(echo, 'x-consumer-username')).toBe('ops');
          expect(got.filter((n) => n === 'x-consumer-id')).toHaveLength(1);
        }
      }),
      { numRuns: 300 },
    );
  });
});

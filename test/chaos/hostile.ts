/**
 * The hostile-input rows' topology (F18–F22): one DB-less data plane process (`gatehouse dp
 * --config`, one worker, its access log on stdout) in front of two recording upstreams on
 * loopback: `echo` (answers with the URL and the raw headers it received) and `protected` (behind
 * routes that require a credential). Every request an upstream receives is kept in `seen`, so a
 * row counts what got through. The consumer `ops` holds one credential of each kind; its secrets
 * are in `secrets`, for the rows that grep logs and metrics for them. A global `file-log` plugin
 * writes every request's log entry to `fileLog` (one JSON line each).
 *
 * Routes: `/echo` (open), `/auth` (key-auth), `/acl` (key-auth + acl allowing `admins` only),
 * `/public` (open, path kept), `/admin` and host `internal.example` (key-auth, to `protected`),
 * `/jwt`, `/basic`, `/hmac` (those plugins), `/rl-same`, `/rl-rotate` (rate-limiting by IP,
 * `RATE_LIMIT` a minute), `/limited` (request-size-limiting, `BODY_LIMIT` bytes).
 */
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { exportSPKI, generateKeyPair, type CryptoKey } from 'jose';
import { startDblessDp, tempDir, type Proc } from '../../e2e/helpers/processes.js';

export const RATE_LIMIT = 5;
export const BODY_LIMIT = 1024;

export interface Seen {
  readonly upstream: 'echo' | 'protected';
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: readonly string[];
  /** The whole request arrived (its body ended); false: the head only, the rest cut off. */
  complete: boolean;
}

/** The credentials of consumer `ops` (each a string a log or metric must never contain). */
export interface Secrets {
  readonly apiKey: string;
  readonly basicPassword: string;
  readonly hmacSecret: string;
  readonly jwtHsSecret: string;
  /** The RS256 credential's key pair: the DP holds only the public half. */
  readonly rsa: { privateKey: CryptoKey; publicPem: string };
}

async function recorder(name: Seen['upstream'], seen: Seen[]): Promise<{ server: Server; port: number }> {
  const server = createServer((req: IncomingMessage, res) => {
    const entry: Seen = {
      upstream: name,
      method: req.method!,
      url: req.url!,
      rawHeaders: req.rawHeaders,
      complete: false,
    };
    seen.push(entry);
    req.resume();
    req.on('end', () => {
      entry.complete = true;
      const body = JSON.stringify({ upstream: name, url: req.url, rawHeaders: req.rawHeaders });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as { port: number }).port };
}

export class HostileDp {
  private constructor(
    readonly dir: string,
    readonly proc: Proc,
    readonly proxy: string,
    readonly status: string,
    readonly seen: Seen[],
    readonly secrets: Secrets,
    private readonly servers: Server[],
  ) {}

  /** The global file-log plugin's file. */
  get fileLog(): string {
    return join(this.dir, 'file-log.jsonl');
  }

  get port(): number {
    return Number(new URL(this.proxy).port);
  }

  /** Starts the topology; `args` are extra `gatehouse dp` arguments, `env` extra variables (NATS_URL). */
  static async start(args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<HostileDp> {
    const dir = tempDir('chaos-hostile');
    const seen: Seen[] = [];
    const echo = await recorder('echo', seen);
    const prot = await recorder('protected', seen);
    const rsa = await generateKeyPair('RS256', { extractable: true });
    const secrets: Secrets = {
      apiKey: 'chaos-S3CRET-apikey-7f3a91',
      basicPassword: 'chaos-S3CRET-password-c81e',
      hmacSecret: 'chaos-S3CRET-hmac-55d2',
      jwtHsSecret: 'chaos-S3CRET-jwths-0b47',
      rsa: { privateKey: rsa.privateKey, publicPem: await exportSPKI(rsa.publicKey) },
    };
    const keyAuth = { name: 'key-auth' };
    // JSON is YAML: the declarative file in its JSON form.
    const file = join(dir, 'kong.yaml');
    writeFileSync(
      file,
      JSON.stringify({
        _format_version: '3.0',
        plugins: [{ name: 'file-log', config: { path: join(dir, 'file-log.jsonl') } }],
        services: [
          {
            name: 'echo',
            url: `http://127.0.0.1:${echo.port}`,
            routes: [
              { name: 'echo', paths: ['/echo'] },
              { name: 'auth', paths: ['/auth'], plugins: [keyAuth] },
              {
                name: 'acl',
                paths: ['/acl'],
                plugins: [keyAuth, { name: 'acl', config: { allow: ['admins'] } }],
              },
              { name: 'public', paths: ['/public'], strip_path: false },
              { name: 'jwt', paths: ['/jwt'], plugins: [{ name: 'jwt' }] },
              { name: 'basic', paths: ['/basic'], plugins: [{ name: 'basic-auth' }] },
              { name: 'hmac', paths: ['/hmac'], plugins: [{ name: 'hmac-auth' }] },
              ...['rl-same', 'rl-rotate'].map((name) => ({
                name,
                paths: [`/${name}`],
                plugins: [
                  { name: 'rate-limiting', config: { minute: RATE_LIMIT, limit_by: 'ip', policy: 'local' } },
                ],
              })),
              {
                name: 'limited',
                paths: ['/limited'],
                plugins: [
                  {
                    name: 'request-size-limiting',
                    config: { allowed_payload_size: BODY_LIMIT, size_unit: 'bytes' },
                  },
                ],
              },
            ],
          },
          {
            name: 'protected',
            url: `http://127.0.0.1:${prot.port}`,
            routes: [
              { name: 'admin', paths: ['/admin'], strip_path: false, plugins: [keyAuth] },
              { name: 'internal', hosts: ['internal.example'], plugins: [keyAuth] },
            ],
          },
        ],
        consumers: [
          {
            username: 'ops',
            keyauth_credentials: [{ key: secrets.apiKey }],
            basicauth_credentials: [{ username: 'ops', password: secrets.basicPassword }],
            hmacauth_credentials: [{ username: 'ops-hmac', secret: secrets.hmacSecret }],
            jwt_secrets: [
              { key: 'ops-hs', algorithm: 'HS256', secret: secrets.jwtHsSecret },
              { key: 'ops-rs', algorithm: 'RS256', rsa_public_key: secrets.rsa.publicPem },
            ],
            acls: [{ group: 'staff' }],
          },
        ],
      }),
    );
    let dp: Awaited<ReturnType<typeof startDblessDp>>;
    try {
      dp = await startDblessDp({
        file,
        dataDir: join(dir, 'dp'),
        workers: 1,
        args: ['--access-log', 'stdout', ...args],
        env: { GATEHOUSE_LOG_LEVEL: 'debug', ...env },
      });
    } catch (err) {
      for (const s of [echo.server, prot.server]) s.close();
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    return new HostileDp(dir, dp.proc, dp.proxy, dp.status, seen, secrets, [echo.server, prot.server]);
  }

  /** What the upstreams received since `from` (an index into `seen`). */
  since(from: number): Seen[] {
    return this.seen.slice(from);
  }

  async close(): Promise<void> {
    await this.proc.stop();
    for (const s of this.servers) {
      s.closeAllConnections();
      s.close();
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A raw request's bytes: `METHOD target HTTP/1.1`, Host, the `extra` lines, `Connection: close`. */
export function request(
  target: string,
  extra: readonly string[] = [],
  opts: { method?: string; host?: string; body?: string } = {},
): Buffer {
  const body = opts.body ?? '';
  const lines = [
    `${opts.method ?? 'GET'} ${target} HTTP/1.1`,
    `Host: ${opts.host ?? 'gw.example'}`,
    ...extra,
    ...(body ? [`Content-Length: ${Buffer.byteLength(body)}`] : []),
    'Connection: close',
    '',
    body,
  ];
  return Buffer.from(lines.join('\r\n'), 'latin1');
}

export interface Exchange {
  /** The status of the first answer, or null when none came. */
  readonly status: number | null;
  /** The server closed the connection (within `timeoutMs`). */
  readonly closed: boolean;
  /** Everything received. */
  readonly raw: string;
}

/** Writes `bytes` on a new socket to 127.0.0.1:`port`; reads until the server closes or `timeoutMs`. */
export function exchange(port: number, bytes: Buffer, timeoutMs = 3000): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let raw = '';
    let settled = false;
    const done = (closed: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(raw);
      resolve({ status: m ? Number(m[1]) : null, closed, raw });
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (c: Buffer) => (raw += c.toString('latin1')));
    socket.on('end', () => done(true));
    socket.on('close', () => done(true));
    socket.on('error', () => done(true));
  });
}

/** The header names (lower-cased) of a recorded request. */
export function headerNames(s: Seen): string[] {
  return s.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
}

/** The values of header `name` (lower-case) of a recorded request. */
export function headerValues(s: Seen, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < s.rawHeaders.length; i += 2)
    if (s.rawHeaders[i]!.toLowerCase() === name) out.push(s.rawHeaders[i + 1]!);
  return out;
}

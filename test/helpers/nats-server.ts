/**
 * A private nats-server for a test (never the machine's 127.0.0.1:4222, so no other test talks
 * on the same subjects and a test may kill it): a free port, optionally auth (user/password or
 * token), TLS (server certificate, optionally verifying clients), JetStream in a temp folder and
 * the HTTP monitoring endpoint (`/connz` counts and names the clients). Used by test/ and e2e/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, portAnswers } from './ports.js';

export { freePort };

export interface NatsServerOptions {
  /** Default: a free one. */
  port?: number;
  user?: string;
  pass?: string;
  token?: string;
  /** PEM files: the server's certificate and key; with `ca`, client certificates are verified. */
  tls?: { cert: string; key: string; ca?: string };
  jetstream?: boolean;
  /** Serve the monitoring endpoint on a free port (`connz()`). */
  monitor?: boolean;
}

export interface NatsConnz {
  num_connections: number;
  connections: { name?: string; ip: string; port: number; subscriptions: number }[];
}

export interface NatsServer {
  readonly port: number;
  /** `nats://127.0.0.1:<port>` (`tls://` with TLS), without credentials. */
  readonly url: string;
  /** The monitoring endpoint's `/connz` (only with `monitor`). */
  connz(): Promise<NatsConnz>;
  /** SIGKILLs the server and waits until it is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port(s). */
  restart(): Promise<void>;
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nats-server exited (${child.exitCode}) before answering`);
    if (await portAnswers(port)) return;
    if (Date.now() > until) throw new Error(`nats-server did not answer on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startNatsServer(o: NatsServerOptions = {}): Promise<NatsServer> {
  const port = o.port ?? (await freePort());
  const monitorPort = o.monitor ? await freePort() : undefined;
  const storeDir = o.jetstream ? mkdtempSync(join(tmpdir(), 'gh-nats-js-')) : undefined;
  const args = ['-a', '127.0.0.1', '-p', String(port)];
  if (monitorPort !== undefined) args.push('-m', String(monitorPort));
  if (o.user !== undefined) args.push('--user', o.user, '--pass', o.pass ?? '');
  if (o.token !== undefined) args.push('--auth', o.token);
  if (o.tls) {
    args.push(o.tls.ca ? '--tlsverify' : '--tls', '--tlscert', o.tls.cert, '--tlskey', o.tls.key);
    if (o.tls.ca) args.push('--tlscacert', o.tls.ca);
  }
  if (storeDir !== undefined) args.push('-js', '-sd', storeDir);
  const bin = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';
  let child: ChildProcess | null = null;
  const start = async () => {
    const c = spawn(bin, args, { stdio: 'ignore' });
    child = c;
    await waitForPort(port, c);
    if (monitorPort !== undefined) await waitForPort(monitorPort, c);
  };
  const kill = async () => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((resolve) => c.once('exit', resolve));
    c.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    port,
    url: `${o.tls ? 'tls' : 'nats'}://127.0.0.1:${port}`,
    async connz() {
      if (monitorPort === undefined) throw new Error('start the nats-server with { monitor: true }');
      const res = await fetch(`http://127.0.0.1:${monitorPort}/connz`);
      return (await res.json()) as NatsConnz;
    },
    async kill() {
      await kill();
      if (storeDir !== undefined) rmSync(storeDir, { recursive: true, force: true });
    },
    restart: start,
  };
}

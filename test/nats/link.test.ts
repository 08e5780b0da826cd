/**
 * The process's NATS link (@gatehouse/shared connectNats) against real nats-servers of our own:
 * credentials from the URL (token, user:password) never in logs or status, TLS with a CA and a
 * client certificate, subscriptions opened when the link comes up, undecodable messages dropped,
 * counted and logged once, a clean close.
 */
import { rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import { connect } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { connectNats, createLogger, isGatehouseError, type NatsLink } from '@gatehouse/shared';
import { makeClusterCerts } from '../helpers/cluster-certs.js';
import { freePort, startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { waitUntil } from '../ratelimit/helpers.js';

const closers: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

function capture() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger('test', { level: 'debug' }, sink), text: () => lines.join('') };
}

async function server(o: Parameters<typeof startNatsServer>[0] = {}): Promise<NatsServer> {
  const s = await startNatsServer(o);
  closers.push(() => s.kill());
  return s;
}

function link(url: string, logger = createLogger('test', { level: 'silent' }), tls = {}): NatsLink {
  const l = connectNats({ settings: { url, tls }, name: 'gatehouse-test', logger, retryMs: 100 });
  closers.push(() => l.close());
  return l;
}

describe('NATS link: credentials', () => {
  it('connects with a token in the URL; a wrong one does not; the token is in no log or status', async () => {
    const token = `tok-${Math.random().toString(36).slice(2)}-secret`;
    const s = await server({ token, monitor: true });
    const { logger, text } = capture();
    const good = link(`nats://${token}@127.0.0.1:${s.port}`, logger);
    const bad = link(`nats://wrong-${token}@127.0.0.1:${s.port}`, logger);
    await good.ready();
    expect(good.status()).toMatchObject({ state: 'connected', servers: [`127.0.0.1:${s.port}`] });
    await waitUntil('the refusal is logged', () => text().includes('nats: unreachable'));
    expect(bad.state).toBe('connecting');
    expect((await s.connz()).num_connections).toBe(1);
    expect(JSON.stringify([good.status(), bad.status()])).not.toContain(token);
    expect(text()).toMatch(/nats: connected/);
    expect(text()).not.toContain(token);
  });

  it('connects over TLS with the CA and a client certificate (server verifies clients), user:pass in the URL', async () => {
    const certs = await makeClusterCerts();
    closers.push(() => rmSync(certs.dir, { recursive: true, force: true }));
    const s = await server({
      user: 'gh',
      pass: 'p@ss/w0rd',
      tls: { cert: certs.cpCert, key: certs.cpKey, ca: certs.ca },
    });
    const { logger, text } = capture();
    const l = link(`tls://gh:${encodeURIComponent('p@ss/w0rd')}@127.0.0.1:${s.port}`, logger, {
      caFile: certs.ca,
      certFile: certs.dpCert,
      keyFile: certs.dpKey,
    });
    const nc = await l.ready();
    expect(nc.info?.tls_required ?? nc.info?.tls_verify).toBeTruthy();
    // Without the client certificate the server refuses.
    const anonymous = link(`tls://gh:${encodeURIComponent('p@ss/w0rd')}@127.0.0.1:${s.port}`, logger, {
      caFile: certs.ca,
    });
    await waitUntil('the refusal is logged', () => text().includes('nats: unreachable'));
    expect(anonymous.state).toBe('connecting');
    expect(text()).not.toContain('w0rd');
  });

  it('refuses an unreadable TLS file at start with a typed error', () => {
    let thrown: unknown;
    try {
      link('tls://127.0.0.1:1', undefined, { caFile: '/nonexistent/ca.pem' });
    } catch (e) {
      thrown = e;
    }
    expect(isGatehouseError(thrown) && thrown.code).toBe('GH_ERR_CONFIG_INVALID_SETTING');
    expect((thrown as Error).message).toMatch(/--nats-tls-ca/);
  });
});

describe('NATS link: subscriptions and lifecycle', () => {
  it('opens a subscription made before NATS is up, drops, counts and logs once what does not decode', async () => {
    const port = await freePort();
    const { logger, text } = capture();
    const l = link(`nats://127.0.0.1:${port}`, logger);
    const got: string[] = [];
    l.subscribe('t.link', {
      decode: (data) => {
        const s = new TextDecoder().decode(data);
        return s.startsWith('ok:') ? s.slice(3) : undefined;
      },
      handle: (m) => {
        if (m === 'boom') throw new Error('handler failed');
        got.push(m);
      },
    });
    expect(l.publish('t.link', new Uint8Array())).toBe(false);
    expect(l.status().publish_failures).toBe(1);
    await server({ port });
    await l.ready();
    await l.flush();
    const raw = await connect({ servers: `127.0.0.1:${port}` });
    closers.push(() => raw.close());
    const enc = new TextEncoder();
    for (const m of ['bad-1', 'ok:boom', 'bad-2', 'ok:a', 'ok:b']) raw.publish('t.link', enc.encode(m));
    await raw.flush();
    await waitUntil('both good messages', () => got.length === 2);
    expect(got).toEqual(['a', 'b']);
    expect(l.status()).toMatchObject({ state: 'connected', dropped: 2, received: 3, subjects: ['t.link'] });
    expect(text().match(/dropped a message that does not decode/g)).toHaveLength(1);
    expect(text()).toMatch(/handling a message failed/);
  });

  it('reconnects after the server restarts (connected again, counted) and closes cleanly', async () => {
    const s = await server();
    const l = link(s.url);
    await l.ready();
    let ups = 0;
    let downs = 0;
    l.on('connected', () => ups++);
    l.on('disconnected', () => downs++);
    await s.kill();
    await waitUntil('down', () => l.state === 'disconnected');
    await s.restart();
    await waitUntil('back', () => l.state === 'connected', 30_000);
    expect([ups, downs]).toEqual([1, 1]);
    expect(l.status().reconnects).toBe(1);
    await l.close();
    expect(l.state).toBe('closed');
    expect(l.connection).toBeNull();
    expect(l.publish('x', new Uint8Array())).toBe(false);
  });

  it('ready() rejects with a typed error when the link is closed before it connects', async () => {
    const l = link(`nats://127.0.0.1:${await freePort()}`);
    const waiting = l.ready();
    await l.close();
    await expect(waiting).rejects.toMatchObject({ code: 'GH_ERR_NATS_CLOSED' });
  });
});

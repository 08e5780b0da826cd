import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CopyChannelDemux,
  LISTENER_COPY,
  ListenerCopies,
  isListenerCopy,
  type CopyChannel,
  type ListenerCopyMessage,
} from './listener-copies.js';

/**
 * A process that sends every listening handle straight back, as the DP's primary does
 * (returnListenerCopy): over IPC each arrives as a new descriptor of the same socket.
 */
const ECHO = `process.on('message', (m, h) => { if (h) process.send(m, h, () => h.close()); });`;

/** Blocks this thread (the event loop) for `ms`. */
const block = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

describe('ListenerCopies', () => {
  let child: ChildProcess | null = null;
  let server: http.Server | null = null;
  let copiesOf: ListenerCopies | null = null;
  afterEach(async () => {
    await copiesOf?.close();
    copiesOf = null;
    await new Promise<void>((r) => (server?.listening ? server.close(() => r()) : r()));
    server = null;
    child?.kill();
    child = null;
  });

  /** How many connections `server` takes in the loop turn after 10 arrive while the loop is blocked. */
  async function acceptedInOneTurn(
    copies: number,
    holdMs = 60_000,
  ): Promise<{ firstTurn: number; served: number }> {
    let accepted = 0;
    server = http.createServer((_req, res) => res.end('ok'));
    server.on('connection', () => accepted++);
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', 511, () => r()));
    const { port } = server.address() as AddressInfo;
    if (copies > 0) {
      child = spawn(process.execPath, ['-e', ECHO], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      let received = 0;
      child.on('message', (m) => {
        if (isListenerCopy(m)) received++;
      });
      copiesOf = new ListenerCopies(server, child, 511, { count: copies, holdMs, fetchDelayMs: 0 });
      expect(copiesOf.enabled).toBe(true);
      // Fetched at once, accepting only once needed.
      const until = performance.now() + 5_000;
      while (received < copies && performance.now() < until) await new Promise((r) => setTimeout(r, 10));
      expect(received).toBe(copies);
      expect(copiesOf.held).toBe(copies);
      expect(copiesOf.active).toBe(0);
      copiesOf.need();
      expect(copiesOf.active).toBe(copies);
    }
    // From a timer (the loop's first phase): the connects leave on the next tick, the kernel
    // queues the connections while the loop is blocked, then the turn's poll reports the listening
    // descriptors readable, and its check phase (setImmediate) counts what that poll accepted.
    let sockets: net.Socket[] = [];
    const firstTurn = await new Promise<number>((resolve) =>
      setTimeout(() => {
        sockets = Array.from({ length: 10 }, () => net.connect(port, '127.0.0.1'));
        process.nextTick(() => {
          block(200);
          setImmediate(() => resolve(accepted));
        });
      }, 0),
    );
    // Every connection is served, whichever descriptor accepted it.
    const served = await Promise.all(
      sockets.map(
        (s) =>
          new Promise<boolean>((resolve) => {
            s.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
            let text = '';
            s.on('data', (d) => (text += d.toString()));
            s.on('close', () => resolve(text.startsWith('HTTP/1.1 200')));
            s.on('error', () => resolve(false));
          }),
      ),
    );
    return { firstTurn, served: served.filter(Boolean).length };
  }

  it('a listener alone accepts one connection per loop turn (libuv), whatever waits in the queue', async () => {
    const r = await acceptedInOneTurn(0);
    expect(r.firstTurn).toBe(1);
    expect(r.served).toBe(10);
  });

  it('with copies of the listening socket, one loop turn accepts a connection per descriptor, and the HTTP server serves them', async () => {
    const r = await acceptedInOneTurn(15);
    expect(r.firstTurn).toBe(10);
    expect(r.served).toBe(10);
  });

  it('puts the copies away once the worker has not been saturated for the hold, fetches fresh ones, and accepts on them when saturated again', async () => {
    await acceptedInOneTurn(4, 300);
    const copies = copiesOf!;
    const until = performance.now() + 5_000;
    while ((copies.active > 0 || copies.held < 4) && performance.now() < until)
      await new Promise((r) => setTimeout(r, 10));
    expect(copies.active).toBe(0);
    expect(copies.held).toBe(4);
    copies.need();
    expect(copies.active).toBe(4);
  });

  it('asks for no copy in the first second after listening (a start-up is not slowed), then for all of them; a saturation before then asks at once', async () => {
    server = http.createServer();
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', 511, () => r()));
    const sent: unknown[] = [];
    const channel: CopyChannel = { send: (m) => sent.push(m), on: () => undefined, off: () => undefined };
    copiesOf = new ListenerCopies(server, channel, 511, { count: 8, fetchDelayMs: 200 });
    expect(copiesOf.enabled).toBe(true);
    expect(sent).toEqual([]);
    await new Promise((r) => setTimeout(r, 300));
    expect(sent.length).toBe(8);
    await copiesOf.close();

    sent.length = 0;
    copiesOf = new ListenerCopies(server, channel, 511, { count: 8 });
    expect(sent).toEqual([]);
    copiesOf.need();
    expect(sent.length).toBe(8);
  });

  it('keeps the copies of each listener apart on one channel (http and https each get their own socket back)', async () => {
    const servers = [http.createServer(), http.createServer()];
    for (const s of servers) await new Promise<void>((r) => s.listen(0, '127.0.0.1', 511, () => r()));
    child = spawn(process.execPath, ['-e', ECHO], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const demux = new CopyChannelDemux(child);
    const [plain, tls] = servers.map(
      (s, i) =>
        new ListenerCopies(s, demux.forListener(i === 0 ? 'http' : 'https'), 511, {
          count: 3,
          fetchDelayMs: 0,
          listener: i === 0 ? 'http' : 'https',
        }),
    );
    try {
      const until = performance.now() + 5_000;
      while ((plain!.held < 3 || tls!.held < 3) && performance.now() < until)
        await new Promise((r) => setTimeout(r, 10));
      expect([plain!.held, tls!.held]).toEqual([3, 3]);
      plain!.need();
      tls!.need();
      // Each connection is taken by the server of the port it went to (a copy of the other
      // listener's socket would hand it to the wrong server).
      const accepted = [0, 0];
      servers.forEach((s, i) => s.on('connection', () => accepted[i]!++));
      // Eight to each port queue up while the loop is blocked, so one poll accepts on every
      // descriptor of both sockets (a listener alone would take one per turn).
      const sockets = await new Promise<net.Socket[]>((resolve) =>
        setTimeout(() => {
          const all = servers.flatMap((s) =>
            Array.from({ length: 8 }, () => net.connect((s.address() as AddressInfo).port, '127.0.0.1')),
          );
          process.nextTick(() => {
            block(200);
            resolve(all);
          });
        }, 0),
      );
      const settle = performance.now() + 2_000;
      while (accepted[0]! + accepted[1]! < 16 && performance.now() < settle)
        await new Promise((r) => setTimeout(r, 10));
      for (const c of sockets) c.destroy();
      expect(accepted).toEqual([8, 8]);
    } finally {
      await plain!.close();
      await tls!.close();
      for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
    }
  });

  it('copies nothing for a server that does not hold its listening socket', () => {
    const unbound = http.createServer();
    const sent: unknown[] = [];
    const channel: CopyChannel = { send: (m) => sent.push(m), on: () => undefined, off: () => undefined };
    const copies = new ListenerCopies(unbound, channel, 511);
    expect(copies.enabled).toBe(false);
    copies.need();
    expect(sent).toEqual([]);
  });

  it('subscribes once to the channel for every listener, gives each answer to its own listener, and closes a copy nobody asked for', () => {
    const subscribed: ((m: unknown, h?: unknown) => void)[] = [];
    const channel: CopyChannel = {
      send: () => undefined,
      on: (_e, fn) => subscribed.push(fn),
      off: (_e, fn) => subscribed.splice(subscribed.indexOf(fn), 1),
    };
    const demux = new CopyChannelDemux(channel);
    const got: string[] = [];
    const http1 = (m: unknown): number => got.push(`http:${(m as ListenerCopyMessage).listener}`);
    const https1 = (m: unknown): number => got.push(`https:${(m as ListenerCopyMessage).listener}`);
    demux.forListener('http').on('message', http1);
    demux.forListener('https').on('message', https1);
    expect(subscribed.length).toBe(1);

    let closed = 0;
    const handle = { close: () => closed++ };
    subscribed[0]!({ t: LISTENER_COPY, listener: 'http' }, handle);
    subscribed[0]!({ t: LISTENER_COPY, listener: 'https' }, handle);
    subscribed[0]!({ t: 'something-else' }, handle);
    expect(got).toEqual(['http:http', 'https:https']);
    expect(closed).toBe(0);
    subscribed[0]!({ t: LISTENER_COPY, listener: 'grpc' }, handle);
    expect(closed).toBe(1);

    demux.forListener('http').off('message', http1);
    expect(subscribed.length).toBe(1);
    subscribed[0]!({ t: LISTENER_COPY, listener: 'http' }, handle);
    expect(closed).toBe(2);
    demux.forListener('https').off('message', https1);
    expect(subscribed.length).toBe(0);
  });
});

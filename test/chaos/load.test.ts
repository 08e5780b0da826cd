/**
 * The open-loop generator against real servers on loopback: a stall is counted from each
 * request's intended time (no coordinated omission), whether the requests due during it were sent
 * on fresh sockets or waited for the one busy socket; responses are framed whatever their kind,
 * keep-alive sockets are reused and closed ones replaced; a request never answered fails.
 * Assertions are lower bounds a stall imposes, or counts: never how fast this machine is.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openLoop, summarize } from './load.js';

const servers: (Server | net.Server)[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    (s as Server).closeAllConnections?.();
    await new Promise((r) => s.close(r));
  }
});

async function listen<S extends Server | net.Server>(
  s: S,
): Promise<{ server: S; origin: string; sockets: () => number }> {
  let sockets = 0;
  s.on('connection', () => sockets++);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  servers.push(s);
  return {
    server: s,
    origin: `http://127.0.0.1:${(s.address() as net.AddressInfo).port}`,
    sockets: () => sockets,
  };
}

describe('openLoop scheduling', () => {
  it.each([64, 1])(
    'counts a 200 ms server stall in every request due during it, from its due time (%i sockets)',
    async (connections) => {
      // From 300 ms after the first request, the server holds every answer until the stall ends.
      let stallFrom = Infinity;
      let stallTo = Infinity;
      const http = createServer((req, res) => {
        req.resume();
        const now = performance.now();
        if (stallFrom === Infinity) {
          stallFrom = now + 300;
          stallTo = stallFrom + 200;
        }
        // Held until the clock says the stall is over: a timer may fire up to a millisecond early
        // (libuv counts from the loop's cached time), and CI once saw an answer 0.06 ms before it.
        const answerAfterStall = (): void => {
          const left = stallTo - performance.now();
          if (left > 0) setTimeout(answerAfterStall, left + 1);
          else res.end('ok');
        };
        if (now >= stallFrom && now < stallTo) answerAfterStall();
        else res.end('ok');
      });
      const { origin } = await listen(http);
      const r = await openLoop({ origin, path: '/', rate: 100, durationMs: 1000, connections });
      expect(summarize(r)).toMatchObject({ requests: 100, failed: 0 });
      // Every request due inside the stall was answered after it ended: its latency, from its due
      // time, is at least the rest of the stall. A generator that timed from the send (after
      // waiting for the one busy socket) would read a fraction of a millisecond.
      let inStall = 0;
      for (let i = 0; i < 100; i++) {
        const due = r.startedAt + i * r.intervalMs;
        if (due < stallFrom + 1 || due >= stallTo - 1) continue;
        inStall++;
        expect(r.latencyMs[i]).toBeGreaterThanOrEqual(stallTo - due);
      }
      expect(inStall).toBeGreaterThanOrEqual(15);
    },
  );

  it('sends request i at i/rate after the start, not after the answer before it', async () => {
    // One socket and a server that takes 50 ms: a closed loop would send 20 requests in a second.
    let received = 0;
    const { origin } = await listen(
      createServer((req, res) => {
        received++;
        req.resume();
        setTimeout(() => res.end('ok'), 50);
      }),
    );
    const r = await openLoop({ origin, path: '/', rate: 100, durationMs: 1000, connections: 1 });
    expect(received).toBe(100);
    // Request 99 waited behind 99 answers of ≥ 50 ms each, all of it counted.
    expect(r.latencyMs[99]).toBeGreaterThanOrEqual(100 * 50 - 99 * 10);
    // …a wait for the busy socket, the server's doing, not the generator's own lateness.
    expect(r.sendLateMs[99]).toBeLessThan(r.latencyMs[99]! - 3000);
  });
});

describe('openLoop framing and sockets', () => {
  const answers: Record<string, (res: ServerResponse) => void> = {
    'Content-Length': (res) => {
      res.setHeader('Content-Length', 5);
      res.end('hello');
    },
    chunked: (res) => {
      res.write('hel');
      setImmediate(() => {
        res.write('lo');
        res.end();
      });
    },
    'no body (204)': (res) => {
      res.statusCode = 204;
      res.end();
    },
  };
  it.each(Object.keys(answers))('frames %s responses and reuses one keep-alive socket', async (kind) => {
    let requests = 0;
    const { origin, sockets } = await listen(
      createServer((req, res) => {
        requests++;
        req.resume();
        answers[kind]!(res);
      }),
    );
    const r = await openLoop({ origin, path: '/', rate: 200, durationMs: 250, connections: 1 });
    expect(summarize(r)).toMatchObject({ requests: 50, failed: 0 });
    expect(new Set(r.status)).toEqual(new Set([kind === 'no body (204)' ? 204 : 200]));
    expect(requests).toBe(50);
    expect(sockets()).toBe(1);
  });

  it('opens a new socket after a response that closes its connection', async () => {
    const { origin, sockets } = await listen(
      createServer((req, res) => {
        req.resume();
        res.setHeader('Connection', 'close');
        res.end('bye');
      }),
    );
    const r = await openLoop({ origin, path: '/', rate: 100, durationMs: 200, connections: 1 });
    expect(summarize(r)).toMatchObject({ requests: 20, failed: 0 });
    expect(sockets()).toBe(20);
  });

  it('reads an HTTP/1.0 body without a length until the server closes', async () => {
    const { origin } = await listen(
      net.createServer((s) => {
        s.once('data', () => s.end('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close'));
      }),
    );
    const r = await openLoop({ origin, path: '/', rate: 100, durationMs: 100, connections: 1 });
    expect(summarize(r)).toMatchObject({ requests: 10, failed: 0 });
  });

  it('sends the path and headers it was given, with the origin as Host', async () => {
    const seen: string[] = [];
    const { origin } = await listen(
      createServer((req, res) => {
        seen.push(`${req.method} ${req.url} ${req.headers.host} ${String(req.headers['x-chaos'])}`);
        req.resume();
        res.end();
      }),
    );
    await openLoop({ origin, path: '/a?b=c', rate: 100, durationMs: 30, headers: { 'X-Chaos': 'yes' } });
    expect(seen).toEqual(Array(3).fill(`GET /a?b=c ${new URL(origin).host} yes`));
  });

  it('fails a request unanswered after timeoutMs, and one whose socket is reset, and goes on', async () => {
    let n = 0;
    const { origin } = await listen(
      net.createServer((s) => {
        s.on('data', () => {
          n++;
          if (n === 1) return; // never answered
          if (n === 2) return s.resetAndDestroy();
          s.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
        });
      }),
    );
    const r = await openLoop({
      origin,
      path: '/',
      rate: 20,
      durationMs: 500,
      timeoutMs: 300,
      connections: 2,
    });
    const s = summarize(r);
    expect(s.requests).toBe(10);
    expect(s.failed).toBe(2);
    expect(Object.fromEntries(r.errors)).toEqual({ TIMEOUT: 1, ECONNRESET: 1 });
  });

  it('fails every request when nothing listens', async () => {
    const closed = await listen(createServer());
    const origin = closed.origin;
    await new Promise((res) => closed.server.close(res));
    servers.length = 0;
    const r = await openLoop({ origin, path: '/', rate: 100, durationMs: 100 });
    expect(summarize(r)).toMatchObject({ requests: 10, failed: 10 });
    expect(Object.fromEntries(r.errors)).toEqual({ ECONNREFUSED: 10 });
  });
});

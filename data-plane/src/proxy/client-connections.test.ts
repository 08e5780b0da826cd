import http from 'node:http';
import fc from 'fast-check';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  CLIENT_LIMIT_DEFAULTS,
  ClientConnections,
  TIMEOUT_BATCH,
  type ClientLimits,
} from './client-connections.js';
import { bodyUnread } from './errors.js';

const FIELDS = Object.keys(CLIENT_LIMIT_DEFAULTS) as (keyof ClientLimits)[];

describe('ClientConnections limits', () => {
  it('defaults: header timeout <= 10 s, checks twice a second, no per-IP cap', () => {
    const c = new ClientConnections();
    expect(c.limits.headerTimeoutMs).toBeLessThanOrEqual(10_000);
    // A timeout fires at most one period late: with 500 ms, a slow client is cut within its
    // timeout + 1 s even on a loop running late (chaos row F21's bound).
    expect(c.checkIntervalMs).toBe(500);
    expect(c.limits.maxConnectionsPerIp).toBe(0);
    expect(c.serverOptions()).toMatchObject({ headersTimeout: 10_000, connectionsCheckingInterval: 500 });
  });

  it('takes any combination of limits, or refuses it with a RangeError naming the limit (property)', () => {
    const hostile = fc.oneof(
      fc.nat(),
      fc.integer(),
      fc.double(),
      fc.constantFrom(Number.NaN, Infinity, -1, 2 ** 60, '10', null, {}),
    );
    fc.assert(
      fc.property(
        fc.record(Object.fromEntries(FIELDS.map((k) => [k, hostile])), { requiredKeys: [] }),
        (limits) => {
          let c: ClientConnections;
          try {
            c = new ClientConnections(limits);
          } catch (e) {
            expect(e).toBeInstanceOf(RangeError);
            expect((e as Error).message).toMatch(/client|timeout/);
            return;
          }
          for (const k of FIELDS) expect(Number.isSafeInteger(c.limits[k]) && c.limits[k] >= 0).toBe(true);
          expect(c.checkIntervalMs).toBeGreaterThanOrEqual(50);
          expect(c.checkIntervalMs).toBeLessThanOrEqual(500);
          // node accepts what we hand it.
          http.createServer(c.serverOptions()).close();
          c.close();
        },
      ),
      { numRuns: 500 },
    );
  });

  it('refuses a whole-request timeout shorter than the header timeout', () => {
    expect(() => new ClientConnections({ headerTimeoutMs: 5_000, requestTimeoutMs: 1_000 })).toThrow(
      /client_request_timeout/,
    );
    expect(() => new ClientConnections({ headerTimeoutMs: 5_000, requestTimeoutMs: 0 })).not.toThrow();
  });
});

describe('bodyUnread', () => {
  it('never throws on hostile raw headers and says whether a body is announced (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string()), fc.boolean(), (raw, complete) => {
        const req = {
          complete,
          rawHeaders: raw.length % 2 === 0 ? raw : [...raw, ''],
        } as unknown as http.IncomingMessage;
        const r = bodyUnread(req);
        expect(typeof r).toBe('boolean');
        if (complete) expect(r).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('counts Content-Length other than 0 and any Transfer-Encoding', () => {
    const req = (rawHeaders: string[], complete = false) =>
      ({ complete, rawHeaders }) as unknown as http.IncomingMessage;
    expect(bodyUnread(req(['Content-Length', '10']))).toBe(true);
    expect(bodyUnread(req(['content-length', '0']))).toBe(false);
    expect(bodyUnread(req(['Transfer-Encoding', 'chunked']))).toBe(true);
    expect(bodyUnread(req(['Host', 'a']))).toBe(false);
    expect(bodyUnread(req(['Content-Length', '10'], true))).toBe(false);
    expect(bodyUnread(undefined)).toBe(false);
  });
});

describe('ClientConnections: many slow clients timing out together', () => {
  /** A request whose body never comes, on an HTTP/1 socket whose answer has started (so a timeout destroys it). */
  function slowBody(onDestroy: () => void) {
    const socket = {
      bytesRead: 0,
      destroyed: false,
      writable: true,
      isPaused: () => false,
      _httpMessage: { headersSent: true },
      destroy() {
        if (!this.destroyed) onDestroy();
        this.destroyed = true;
      },
    };
    const req = { httpVersionMajor: 1, complete: false, socket };
    return { req: req as unknown as IncomingMessage, res: {} as ServerResponse };
  }

  afterEach(() => {
    vi.useRealTimers();
  });

  it(`times out at most ${TIMEOUT_BATCH} per turn of the event loop, every one of them in the end (chaos row F21)`, () => {
    vi.useFakeTimers();
    const cc = new ClientConnections();
    let closed = 0;
    for (let i = 0; i < 500; i++) {
      const { req, res } = slowBody(() => closed++);
      cc.admitRequest(req, res, true);
    }
    // Just before the body timeout: nothing cut.
    vi.advanceTimersByTime(cc.limits.bodyTimeoutMs - cc.checkIntervalMs);
    expect(closed).toBe(0);
    // Then one timer (the sweep, then each batch after it) at a time: each runs alone in its turn,
    // with the proxy's other I/O (normal requests) served between them.
    const perTurn: number[] = [];
    while (closed < 500 && perTurn.length < 1000) {
      const before = closed;
      vi.advanceTimersToNextTimer();
      if (closed > before) perTurn.push(closed - before);
    }
    expect(closed).toBe(500);
    expect(Math.max(...perTurn)).toBeLessThanOrEqual(TIMEOUT_BATCH);
    expect(cc.counts.bodyTimeouts).toBe(500);
    cc.close();
  });
});

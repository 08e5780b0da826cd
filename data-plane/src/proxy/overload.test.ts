import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/** The delay signal at 50 ms (`--max-event-loop-delay 50`; the DP's default until 7 Dec 2026). */
const DP_DEFAULTS = { maxConcurrentRequests: 0, maxEventLoopDelayMs: 50 };
import { DELAY_INTERVAL_MS, OverloadGuard } from './overload.js';

/** A response that only emits `close` (what the guard listens to). */
const response = (): ServerResponse & EventEmitter => new EventEmitter() as ServerResponse & EventEmitter;

describe('OverloadGuard', () => {
  it('is off when both signals are 0, and then admits everything', () => {
    const g = new OverloadGuard({ maxConcurrentRequests: 0, maxEventLoopDelayMs: 0 });
    expect(g.enabled).toBe(false);
    for (let i = 0; i < 1000; i++) expect(g.admit(response())).toBe(true);
    g.sample(10_000);
    g.sample(10_000);
    expect(g.admit(response())).toBe(true);
    expect(g.shed).toBe(0);
  });

  it('sheds the request over the cap and admits again once a response closes', () => {
    const g = new OverloadGuard({ maxConcurrentRequests: 2, maxEventLoopDelayMs: 0 });
    const a = response();
    const b = response();
    expect(g.admit(a)).toBe(true);
    expect(g.admit(b)).toBe(true);
    expect(g.admit(response())).toBe(false);
    expect(g.concurrent).toBe(2);
    a.emit('close');
    expect(g.concurrent).toBe(1);
    expect(g.admit(response())).toBe(true);
    expect(g.shed).toBe(1);
  });

  it('does not shed for one late sample (a long turn: a config compile, a GC pause)', () => {
    const g = new OverloadGuard({ maxConcurrentRequests: 0, maxEventLoopDelayMs: 250 });
    g.sample(5);
    g.sample(900);
    expect(g.lagging).toBe(false);
    expect(g.admit(response())).toBe(true);
    g.sample(3);
    g.sample(900);
    expect(g.admit(response())).toBe(true);
  });

  it('sheds once two or more late samples in a row cover 500 ms, and holds for five more samples once the delay is back', () => {
    const g = new OverloadGuard({ maxConcurrentRequests: 0, maxEventLoopDelayMs: 250 });
    g.sample(300);
    expect(g.admit(response())).toBe(true);
    g.sample(400);
    expect(g.lagging).toBe(true);
    expect(g.admit(response())).toBe(false);
    for (let i = 0; i < 4; i++) {
      g.sample(1);
      expect(g.admit(response())).toBe(false);
    }
    g.sample(1);
    expect(g.lagging).toBe(false);
    expect(g.admit(response())).toBe(true);
    expect(g.shed).toBe(5);
    expect(g.shedBy).toEqual({ event_loop_delay: 5, concurrency: 0, queue_time: 0 });
  });

  it('by default, sheds a loop that stays a little late for 500 ms though no sample is 250 ms late (a saturated worker, chaos F24)', () => {
    const g = new OverloadGuard(DP_DEFAULTS);
    // Late samples one after another: 80 ms, then 50 + 80 ms each; the fifth covers 600 ms.
    for (let i = 0; i < 4; i++) {
      g.sample(80);
      expect(g.admit(response())).toBe(true);
    }
    g.sample(80);
    expect(80 + 4 * 130).toBeGreaterThanOrEqual(DELAY_INTERVAL_MS);
    expect(g.lagging).toBe(true);
    expect(g.admit(response())).toBe(false);
  });

  it('a timely sample ends the run of late ones: bursts shorter than the interval shed nothing', () => {
    const g = new OverloadGuard(DP_DEFAULTS);
    for (let i = 0; i < 50; i++) {
      for (let j = 0; j < 3; j++) g.sample(100);
      g.sample(10);
      expect(g.lagging).toBe(false);
    }
    expect(g.shed).toBe(0);
  });

  it('sheds nothing for a worker that is late but used under 0.4 of a core over the run (a busy machine starving it, not work piling up)', () => {
    const g = new OverloadGuard(DP_DEFAULTS);
    for (let i = 0; i < 50; i++) g.sample(200, 0.3);
    expect(g.lagging).toBe(false);
    expect(g.admit(response())).toBe(true);
    g.sample(0);
    for (let i = 0; i < 5; i++) {
      g.sample(200, 0.95);
      g.admit(response());
    }
    expect(g.lagging).toBe(true);
  });

  it('weighs the CPU over the whole run: a few starved samples among busy ones do not reset it', () => {
    const g = new OverloadGuard(DP_DEFAULTS);
    for (const share of [0.9, 0.1, 0.8, 0.2, 0.9]) {
      g.sample(100, share);
      g.admit(response());
    }
    expect(g.lagging).toBe(true);
  });

  it('sheds nothing when no request arrived while the loop was late (other work of the process: an import beside an in-process proxy)', () => {
    const g = new OverloadGuard(DP_DEFAULTS);
    expect(g.admit(response())).toBe(true);
    g.sample(0);
    for (let i = 0; i < 20; i++) g.sample(200, 1);
    expect(g.lagging).toBe(false);
    expect(g.admit(response())).toBe(true);
    // The same late loop with requests arriving meanwhile is a queue: shed.
    for (let i = 0; i < 5; i++) {
      g.sample(200, 1);
      g.admit(response());
    }
    expect(g.lagging).toBe(true);
  });

  it('counts sheds by reason: the delay first, then the cap', () => {
    const g = new OverloadGuard({ maxConcurrentRequests: 1, maxEventLoopDelayMs: 50 });
    expect(g.admit(response())).toBe(true);
    expect(g.admit(response())).toBe(false);
    for (let i = 0; i < 5; i++) g.sample(100);
    expect(g.admit(response())).toBe(false);
    expect(g.shedBy).toEqual({ event_loop_delay: 1, concurrency: 1, queue_time: 0 });
    expect(g.shed).toBe(2);
  });

  it('keeps shedding while the delay stays over the bound', () => {
    const g = new OverloadGuard({ maxConcurrentRequests: 0, maxEventLoopDelayMs: 100 });
    for (let i = 0; i < 20; i++) {
      g.sample(500);
      if (i >= 1) expect(g.lagging).toBe(true);
      g.admit(response());
    }
  });

  it('the count in flight never goes below zero nor above the cap, whatever the order of requests and closes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.oneof(fc.constant('req' as const), fc.nat({ max: 20 })), { maxLength: 200 }),
        (cap, steps) => {
          const g = new OverloadGuard({ maxConcurrentRequests: cap, maxEventLoopDelayMs: 0 });
          const open: (ServerResponse & EventEmitter)[] = [];
          let admitted = 0;
          let shed = 0;
          for (const s of steps) {
            if (s === 'req') {
              const r = response();
              if (g.admit(r)) {
                admitted++;
                open.push(r);
              } else shed++;
            } else if (open.length > 0) {
              open.splice(s % open.length, 1)[0]!.emit('close');
            }
            expect(g.concurrent).toBe(open.length);
            expect(g.concurrent).toBeLessThanOrEqual(cap);
          }
          expect(g.shed).toBe(shed);
          expect(admitted + shed).toBe(steps.filter((s) => s === 'req').length);
        },
      ),
    );
  });

  it('any sequence of samples, hostile ones included (negative, NaN, huge), leaves it in a sound state', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.double(), fc.integer({ min: -1e9, max: 1e9 }).map(Number)), { maxLength: 100 }),
        (samples) => {
          const g = new OverloadGuard({ maxConcurrentRequests: 0, maxEventLoopDelayMs: 250 });
          for (const s of samples) g.sample(s);
          expect(g.eventLoopDelayMs).toBeGreaterThanOrEqual(0);
          for (let i = 0; i < 6; i++) g.sample(0);
          expect(g.lagging).toBe(false);
          expect(g.admit(response())).toBe(true);
        },
      ),
    );
  });

  describe('queue time', () => {
    /** A guard whose CPU share is what the test says (the worker's own, in production). */
    class Guard extends OverloadGuard {
      share = 1;
      protected override busyShare(): number {
        return this.share;
      }
    }
    const guard = (maxQueueTimeMs: number): Guard =>
      new Guard({ maxConcurrentRequests: 0, maxEventLoopDelayMs: 0, maxQueueTimeMs });

    it('sheds the requests a busy worker reads more than the bound after the first of the same loop turn, and serves again the next turn', () => {
      const g = guard(50);
      expect(g.enabled).toBe(true);
      // One turn of 100 requests, 1 ms each: the first 51 are read within 50 ms of the first.
      const admitted = Array.from({ length: 100 }, (_, i) => g.admit(response(), 1000 + i));
      expect(admitted.filter(Boolean).length).toBe(51);
      expect(admitted.slice(0, 51).every(Boolean)).toBe(true);
      expect(g.shedBy).toEqual({ event_loop_delay: 0, concurrency: 0, queue_time: 49 });
      g.turnEnded();
      expect(g.admit(response(), 2000)).toBe(true);
      g.stop();
    });

    it('tells once per saturated turn that the worker is saturated (the proxy then opens copies of its listener)', () => {
      const g = guard(50);
      let told = 0;
      g.onSaturated = () => told++;
      for (let turn = 0; turn < 3; turn++) {
        for (let i = 0; i < 100; i++) g.admit(response(), 1000 * turn + i);
        g.turnEnded();
      }
      expect(told).toBe(3);
      g.share = 0.1;
      for (let i = 0; i < 100; i++) g.admit(response(), 5000 + i);
      expect(told).toBe(3);
      g.stop();
    });

    it('sheds nothing for a long turn of a worker the machine starves (little CPU of its own)', () => {
      const g = guard(50);
      g.share = 0.2;
      for (let i = 0; i < 100; i++) expect(g.admit(response(), 1000 + 10 * i)).toBe(true);
      expect(g.shed).toBe(0);
      g.stop();
    });

    it('is off at 0: a turn of any length sheds nothing', () => {
      const g = guard(0);
      expect(g.enabled).toBe(false);
      for (let i = 0; i < 100; i++) expect(g.admit(response(), 1000 + 10 * i)).toBe(true);
    });

    it('ends a turn by itself (its timer), so requests of later turns are read afresh', async () => {
      const g = guard(5);
      expect(g.admit(response(), performance.now())).toBe(true);
      await new Promise((r) => setTimeout(r, 20));
      expect(g.admit(response(), performance.now() + 100)).toBe(true);
      g.stop();
    });

    it('any bound, hostile ones included, and any turn: the first request of a turn passes, none read within the bound is shed, and a shed one was read past it', () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.integer({ min: -1e9, max: 1e9 }),
            fc.double(),
            fc.constantFrom(0, 1, 50, 60_000, Number.MAX_SAFE_INTEGER),
          ),
          fc.array(fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 30 }), {
            maxLength: 10,
          }),
          fc.double({ min: 0, max: 2, noNaN: true }),
          (bound, turns, share) => {
            const g = guard(bound);
            g.share = share;
            const on = bound > 0;
            for (const gaps of turns) {
              let t = 0;
              const first = 0;
              gaps.forEach((gap, i) => {
                t += i === 0 ? 0 : gap;
                const ok = g.admit(response(), t);
                if (i === 0 || !on || share < 0.4 || t - first <= bound) expect(ok).toBe(true);
              });
              g.turnEnded();
            }
            expect(g.shedBy.event_loop_delay + g.shedBy.concurrency).toBe(0);
            g.stop();
          },
        ),
      );
    });
  });
});

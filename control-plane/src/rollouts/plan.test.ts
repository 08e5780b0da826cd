import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isGatehouseError, newSketch, recordLatency } from '@gatehouse/shared';
import { groupFigures, inWaves, judge, parsePlan, rolloutMembership, type Gate } from './plan.js';

const body = (e: unknown) => (isGatehouseError(e) ? (e.details?.body as { fields?: unknown }) : undefined);

describe('rollout plan', () => {
  it('fills the defaults and appends the last wave, everyone', () => {
    expect(parsePlan({ waves: [{ percentage: 10 }] })).toEqual({
      waves: [{ percentage: 10 }, { everyone: true }],
      soak_ms: 300_000,
      gate: { max_error_rate: 0.05, min_requests: 20 },
    });
  });

  it('refuses bad plans with a schema violation naming the field', () => {
    const cases: [unknown, Record<string, unknown>][] = [
      [{}, { waves: 'required field missing' }],
      [{ waves: [] }, { waves: expect.stringMatching(/at least 1/) }],
      [{ waves: [{ percentage: 101 }] }, { waves: [{ percentage: expect.stringMatching(/between/) }] }],
      [{ waves: [{}] }, { waves: [{ '@entity': expect.anything() }] }],
      [{ waves: [{ percentage: 5, labels: { a: 'b' } }] }, { waves: [{ '@entity': expect.anything() }] }],
      [{ waves: [{ percentage: 5 }], soak: 0 }, { soak: expect.stringMatching(/between/) }],
      [
        { waves: [{ percentage: 5 }], gate: { max_error_rate: 2 } },
        { gate: { max_error_rate: expect.anything() } },
      ],
      [{ waves: [{ percentage: 5 }], nope: 1 }, { nope: 'unknown field' }],
    ];
    for (const [input, fields] of cases) {
      let thrown: unknown;
      try {
        parsePlan(input as Record<string, unknown>);
      } catch (e) {
        thrown = e;
      }
      expect(isGatehouseError(thrown) && thrown.status, JSON.stringify(input)).toBe(400);
      expect(body(thrown)?.fields, JSON.stringify(input)).toMatchObject(fields);
    }
  });

  it('a plan parser never throws anything but a 400 (property)', () => {
    fc.assert(
      fc.property(fc.object({ withNullPrototype: false, maxDepth: 3 }), fc.jsonValue(), (o, v) => {
        for (const input of [o, { waves: v }, { waves: [v] }, { waves: [{ labels: v }], gate: v, soak: v }]) {
          try {
            parsePlan(input);
          } catch (e) {
            expect(isGatehouseError(e) && e.status).toBe(400);
          }
        }
      }),
      { examples: [[{}, { labels: { '': '' } }]] },
    );
  });
});

describe('wave membership', () => {
  const plan = parsePlan({ waves: [{ labels: { canary: 'true' } }, { percentage: 50 }] });
  it('is cumulative, by label then by percentage, and everyone in the last wave', () => {
    const canary = { nodeId: 'n1', labels: { canary: 'true' } };
    expect(inWaves(plan, 0, 'r', canary)).toBe(true);
    const others = Array.from({ length: 400 }, (_, i) => ({ nodeId: `node-${i}`, labels: {} }));
    expect(others.some((dp) => inWaves(plan, 0, 'r', dp))).toBe(false);
    const half = others.filter((dp) => inWaves(plan, 1, 'r', dp)).length;
    expect(half).toBeGreaterThan(140);
    expect(half).toBeLessThan(260);
    expect(others.every((dp) => inWaves(plan, 2, 'r', dp))).toBe(true);
  });
});

describe('the gate', () => {
  const gate: Gate = {
    max_error_rate: 0.05,
    max_error_rate_increase: 0.02,
    max_p99_latency_ratio: 2,
    min_requests: 10,
  };
  const fig = (requests: number, errors: number, p99: number | null) =>
    groupFigures([{ nodeId: 'x', requests, errors_5xx: errors, p99_ms: p99 }]);

  it('waits for min_requests, then fails at once on a breach', () => {
    expect(judge(gate, fig(5, 5, 1), fig(100, 0, 1), false).decision).toBe('wait');
    const v = judge(gate, fig(20, 10, 1), fig(100, 0, 1), false);
    expect(v.decision).toBe('fail');
    expect(v.breaches.join()).toMatch(/max_error_rate 0.05/);
  });
  it('compares with the other DPs: error-rate increase and p99 ratio', () => {
    expect(judge(gate, fig(100, 4, 1), fig(100, 0, 1), true).breaches.join()).toMatch(
      /max_error_rate_increase/,
    );
    expect(judge(gate, fig(100, 0, 30), fig(100, 0, 10), true).breaches.join()).toMatch(
      /max_p99_latency_ratio/,
    );
    expect(judge(gate, fig(100, 0, 30), fig(5, 0, 10), true).decision).toBe('pass');
  });
  it("takes a group's p99 from its DPs' latency sketches merged, not from a mean of their p99s", () => {
    const sketchOf = (ms: number, n: number) => {
      const s = newSketch();
      for (let i = 0; i < n; i++) recordLatency(s, ms);
      return s;
    };
    // 98 fast requests on one DP, 2 slow ones on another: the group's p99 is the slow one's
    // latency (2 % of its requests took 1 s), where a request-weighted mean of p99s says ~30 ms.
    const merged = groupFigures([
      { nodeId: 'a', requests: 98, errors_5xx: 0, p99_ms: 10, latency: sketchOf(10, 98) },
      { nodeId: 'b', requests: 2, errors_5xx: 0, p99_ms: 1000, latency: sketchOf(1000, 2) },
    ]);
    expect(merged.p99_ms).toBeGreaterThan(980);
    expect(merged.p99_ms).toBeLessThan(1020);
    // A DP with requests but no sketch (figures from elsewhere): the weighted mean, as before.
    const mean = groupFigures([
      { nodeId: 'a', requests: 98, errors_5xx: 0, p99_ms: 10, latency: sketchOf(10, 98) },
      { nodeId: 'b', requests: 2, errors_5xx: 0, p99_ms: 1000 },
    ]);
    expect(mean.p99_ms).toBeCloseTo(29.8, 1);
  });

  it('passes a healthy wave once the soak is over; fails one that served too little', () => {
    expect(judge(gate, fig(100, 1, 10), fig(100, 1, 10), false).decision).toBe('wait');
    expect(judge(gate, fig(100, 1, 10), fig(100, 1, 10), true).decision).toBe('pass');
    expect(judge(gate, fig(3, 0, 10), null, true).decision).toBe('fail');
    // Too few requests when the soak ends, but its last figures are not in yet: it waits.
    expect(judge(gate, fig(3, 0, 10), null, true, false).decision).toBe('wait');
  });
});

describe('rolloutMembership', () => {
  const plan = parsePlan({ waves: [{ labels: { canary: 'true' } }, { percentage: 50 }], soak: 60 });
  const dps: { id: string; hostname: string; labels: Record<string, string>; config_version: number }[] = [
    { id: 'canary-1', hostname: 'c1', labels: { canary: 'true' }, config_version: 5 },
    { id: 'web-1', hostname: 'w1', labels: {}, config_version: 5 },
    { id: 'web-2', hostname: 'w2', labels: {}, config_version: 7 },
  ];
  const running = { id: 'r-1', state: 'running', wave: 0, baseVersion: 5n, plan };

  it('says each DP’s wave, and holds only the running rollout’s DPs outside the waves so far, at the base', () => {
    const rows = rolloutMembership(running, dps);
    expect(rows[0]).toMatchObject({ id: 'canary-1', wave: 0, in_rolled_waves: true, held: false });
    for (const row of rows.slice(1)) {
      expect(row.wave === 1 || row.wave === 2).toBe(true);
      expect(row.in_rolled_waves).toBe(false);
    }
    // Past the base already (it took a later version): not held, whatever its wave.
    expect(rows[1]!.held).toBe(true);
    expect(rows[2]!.held).toBe(false);
    // The same answer as the snapshot selection's inWaves.
    for (const dp of dps)
      expect(rows.find((r) => r.id === dp.id)!.in_rolled_waves).toBe(
        inWaves(plan, 0, 'r-1', { nodeId: dp.id, labels: dp.labels }),
      );
    // Not running: nobody is held; the last wave takes everyone.
    const done = rolloutMembership({ ...running, state: 'completed', wave: 2 }, dps);
    expect(done.every((r) => !r.held && r.in_rolled_waves && r.wave !== null)).toBe(true);
  });

  it('places every DP in exactly one first wave, for any ids and labels', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            id: fc.string({ maxLength: 20 }),
            hostname: fc.string({ maxLength: 8 }),
            labels: fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 3 }),
            config_version: fc.nat(10),
          }),
          { maxLength: 8 },
        ),
        fc.nat(2),
        (list, wave) => {
          const rows = rolloutMembership({ ...running, wave }, list);
          expect(rows).toHaveLength(list.length);
          for (const row of rows) {
            expect(row.wave).not.toBeNull();
            expect(row.in_rolled_waves).toBe(row.wave! <= wave);
            if (row.held) expect(row.in_rolled_waves).toBe(false);
          }
        },
      ),
    );
  });
});

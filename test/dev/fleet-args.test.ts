/**
 * The fleet flags of `gatehouse dev` (deploy/local/fleet-args.mjs): --data-planes and
 * --control-planes parsed or refused with a sentence naming what is wrong, never a throw.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_CONTROL_PLANES,
  MAX_DATA_PLANES,
  parseControlPlaneCount,
  parseDataPlanes,
  parsePort,
  REGION,
} from '../../deploy/local/fleet-args.mjs';

describe('--data-planes', () => {
  it('takes region=count pairs in order', () => {
    expect(parseDataPlanes('eu=2,us=1')).toEqual({
      value: [
        { region: 'eu', count: 2 },
        { region: 'us', count: 1 },
      ],
    });
    expect(parseDataPlanes(' eu-west-1 = 3 ')).toEqual({ value: [{ region: 'eu-west-1', count: 3 }] });
  });

  it.each([
    ['', 'an empty entry'],
    ['eu=1,', 'an empty entry'],
    ['eu', 'is not region=count'],
    ['eu=0', 'must be a whole number from 1'],
    ['eu=-1', 'must be a whole number from 1'],
    ['eu=1.5', 'must be a whole number from 1'],
    ['eu=', 'must be a whole number from 1'],
    ['=2', 'region ""'],
    ['EU=1', 'lower-case'],
    ['eu.west=1', 'lower-case'],
    ['-eu=1', 'lower-case'],
    ['eu>x=1', 'lower-case'],
    ['eu=1,eu=2', 'given twice'],
    [`eu=${MAX_DATA_PLANES},us=1`, `at most ${MAX_DATA_PLANES}`],
  ])('refuses %j, naming the problem', (text, problem) => {
    const r = parseDataPlanes(text);
    expect(r.value).toBeUndefined();
    expect(r.problem).toContain(problem);
  });

  it('hostile input: a problem, or regions that are subject-safe, distinct, and counts that add up', () => {
    const entry = fc.oneof(
      fc.string(),
      fc.tuple(fc.string(), fc.string()).map(([a, b]) => `${a}=${b}`),
      fc
        .tuple(fc.stringMatching(/^[a-z0-9-]{0,34}$/), fc.integer({ min: -2, max: 40 }))
        .map(([r, n]) => `${r}=${n}`),
    );
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 12 }), (parts) => {
        const r = parseDataPlanes(parts.join(','));
        if (r.problem !== undefined) {
          expect(r.problem.length).toBeGreaterThan(0);
          expect(r.value).toBeUndefined();
          return;
        }
        expect(r.value.length).toBe(parts.length);
        expect(new Set(r.value.map((e) => e.region)).size).toBe(r.value.length);
        let total = 0;
        for (const { region, count } of r.value) {
          expect(region).toMatch(REGION);
          expect(Number.isInteger(count) && count >= 1).toBe(true);
          total += count;
        }
        expect(total).toBeLessThanOrEqual(MAX_DATA_PLANES);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('--control-planes and ports', () => {
  it('takes 1 to the maximum, refuses the rest', () => {
    expect(parseControlPlaneCount('3')).toEqual({ value: 3 });
    for (const bad of ['0', '-1', '', 'two', '1.0', String(MAX_CONTROL_PLANES + 1), '01'])
      expect(parseControlPlaneCount(bad).problem).toContain(`from 1 to ${MAX_CONTROL_PLANES}`);
    fc.assert(
      fc.property(fc.string(), (s) => {
        const r = parseControlPlaneCount(s);
        if (r.problem === undefined) expect(r.value >= 1 && r.value <= MAX_CONTROL_PLANES).toBe(true);
      }),
    );
  });

  it('a port is 1-65535, or 0 (free ports) in a fleet', () => {
    expect(parsePort('0', { allowZero: true })).toEqual({ value: 0 });
    expect(parsePort('0', { allowZero: false }).problem).toContain('must be a port 1-65535');
    expect(parsePort('65536', { allowZero: true }).problem).toContain('must be a port 0-65535');
    fc.assert(
      fc.property(fc.string(), fc.boolean(), (s, allowZero) => {
        const r = parsePort(s, { allowZero });
        if (r.problem === undefined) expect(r.value >= (allowZero ? 0 : 1) && r.value <= 65535).toBe(true);
      }),
    );
  });
});

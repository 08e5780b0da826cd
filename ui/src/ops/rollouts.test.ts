import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseWave, rolloutRequest, waveText, type RolloutForm } from './rollouts';

const form = (over: Partial<RolloutForm> = {}): RolloutForm => ({
  config: '_format_version: "3.0"\n',
  waves: 'canary=true\n25%',
  soak: '60',
  max_error_rate: '0.02',
  max_error_rate_increase: '',
  max_p99_latency_ratio: '',
  min_requests: '',
  ...over,
});

describe('rollout start form', () => {
  it('makes the body POST /config/rollouts takes', () => {
    expect(rolloutRequest(form())).toEqual({
      ok: true,
      body: {
        config: '_format_version: "3.0"\n',
        waves: [{ labels: { canary: 'true' } }, { percentage: 25 }],
        soak: 60,
        gate: { max_error_rate: 0.02 },
      },
    });
  });

  it('names the field at fault', () => {
    const r = rolloutRequest(form({ waves: '150%', soak: 'soon', max_error_rate: '2', config: ' ' }));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(Object.keys(r.errors).sort()).toEqual(['config', 'max_error_rate', 'soak', 'waves']);
    expect(parseWave('canary')).toMatch(/percentage|labels/);
    expect(parseWave('__proto__=x')).toBeTypeOf('string');
  });

  it('names waves as the API reads them', () => {
    expect(waveText({ everyone: true })).toBe('every data plane');
    expect(waveText({ labels: { canary: 'true' } })).toBe('DPs labelled canary=true');
    expect(waveText({ percentage: 25 })).toBe('25 % of the DPs');
  });

  it('never throws on hostile fields and either sends a body or names a fault', () => {
    const field = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.constantFrom('', '1e400', 'NaN', '-1', '0x10', '%', '=', '__proto__=1'),
    );
    fc.assert(
      fc.property(
        fc.record({
          config: field,
          waves: fc.array(field, { maxLength: 12 }).map((a) => a.join('\n')),
          soak: field,
          max_error_rate: field,
          max_error_rate_increase: field,
          max_p99_latency_ratio: field,
          min_requests: field,
        }),
        (f) => {
          const r = rolloutRequest(f);
          if (r.ok) {
            expect(r.body.waves.length).toBeGreaterThan(0);
            expect(r.body.waves.length).toBeLessThanOrEqual(9);
            for (const v of Object.values(r.body.gate ?? {})) expect(Number.isFinite(v)).toBe(true);
          } else expect(Object.keys(r.errors).length).toBeGreaterThan(0);
        },
      ),
    );
  });
});

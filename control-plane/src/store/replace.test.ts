import { emptyConfig, validateUpstream, type Upstream } from '@gatehouse/shared';
import { describe, expect, it } from 'vitest';
import { diffConfigs } from './replace.js';

const upstream = (): Upstream => ({
  ...(validateUpstream({ name: 'up' }) as Omit<Upstream, 'id' | 'created_at' | 'updated_at'>),
  id: '00000000-0000-4000-8000-000000000001',
  created_at: 1,
  updated_at: 1,
});

/** The same value with every object's keys in reverse order (as a jsonb column may return them). */
function reversed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversed);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .reverse()
      .map((k) => [k, reversed((value as Record<string, unknown>)[k])]),
  );
}

describe('diffConfigs', () => {
  it('sees no change in a Json column whose keys come back in another order', () => {
    const stored = upstream();
    const wanted = { ...stored, healthchecks: reversed(stored.healthchecks) as Upstream['healthchecks'] };
    expect(JSON.stringify(wanted.healthchecks)).not.toBe(JSON.stringify(stored.healthchecks));
    const diff = diffConfigs(
      { ...emptyConfig(), upstreams: [stored] },
      { ...emptyConfig(), upstreams: [wanted] },
    );
    expect(diff.changed).toBe(false);
  });

  it('sees a changed value inside a Json column', () => {
    const stored = upstream();
    const wanted = { ...stored, healthchecks: { ...stored.healthchecks, threshold: 7 } };
    const diff = diffConfigs(
      { ...emptyConfig(), upstreams: [stored] },
      { ...emptyConfig(), upstreams: [wanted] },
    );
    expect(diff.changes.upstreams.updated).toHaveLength(1);
  });
});

import { describe, expect, it } from 'vitest';
import { completeConfig, type GatehouseConfig } from '@gatehouse/shared';
import { carryTimestamps } from './stable-timestamps.js';

const svc = (id: string, host: string, ts: number) =>
  ({ id, name: id, host, created_at: ts, updated_at: ts }) as unknown as GatehouseConfig['services'][number];

describe('carryTimestamps', () => {
  it('keeps the served timestamps of unchanged entities stamped by this load', () => {
    const prev = completeConfig({ services: [svc('a', 'x', 100)] });
    const next = completeConfig({ services: [svc('a', 'x', 2000)] });
    expect(carryTimestamps(prev, next, 2000).services[0]).toMatchObject({ created_at: 100, updated_at: 100 });
  });

  it('keeps created_at but takes the new updated_at for a changed entity', () => {
    const prev = completeConfig({ services: [svc('a', 'x', 100)] });
    const next = completeConfig({ services: [svc('a', 'y', 2000)] });
    expect(carryTimestamps(prev, next, 2000).services[0]).toMatchObject({
      created_at: 100,
      updated_at: 2000,
    });
  });

  it('leaves new entities, timestamps written in the file, and the first load alone', () => {
    const prev = completeConfig({ services: [svc('a', 'x', 100)] });
    const next = completeConfig({ services: [svc('a', 'x', 50), svc('b', 'x', 2000)] });
    const out = carryTimestamps(prev, next, 2000);
    expect(out.services.map((s) => s.created_at)).toEqual([50, 2000]);
    expect(carryTimestamps(null, next, 2000)).toBe(next);
  });
});

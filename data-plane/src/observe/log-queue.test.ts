import { describe, expect, it } from 'vitest';
import { LogQueue, type LogCounters, type QueueSettings } from './log-queue.js';

const settings = (o: Partial<QueueSettings> = {}): QueueSettings => ({
  max_batch_size: 1,
  max_coalescing_delay: 0,
  max_entries: 100,
  max_bytes: null,
  max_retry_time: 60,
  initial_retry_delay: 0.001,
  max_retry_delay: 0.005,
  ...o,
});

const fresh = (): LogCounters => ({ sent: 0, dropped: 0, retried: 0 });

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(check()).toBe(true);
}

describe('log queue (Kong queue semantics)', () => {
  it('batches up to max_batch_size entries', async () => {
    const batches: string[][] = [];
    const counters = fresh();
    const q = new LogQueue({
      settings: settings({ max_batch_size: 3, max_coalescing_delay: 0.01 }),
      counters,
      send: async (b) => void batches.push(b),
    });
    for (let i = 0; i < 7; i++) q.push(String(i));
    await until(() => counters.sent === 7);
    expect(batches.flat()).toEqual(['0', '1', '2', '3', '4', '5', '6']);
    expect(Math.max(...batches.map((b) => b.length))).toBe(3);
  });

  it('retries a failing batch with backoff until it is delivered, losing nothing', async () => {
    let failures = 5;
    const got: string[] = [];
    const counters = fresh();
    const q = new LogQueue({
      settings: settings({ max_batch_size: 2 }),
      counters,
      send: async (b) => {
        if (failures-- > 0) throw new Error('down');
        got.push(...b);
      },
    });
    for (let i = 0; i < 6; i++) q.push(String(i));
    await until(() => counters.sent === 6);
    expect(got).toEqual(['0', '1', '2', '3', '4', '5']);
    expect(counters.retried).toBe(5);
    expect(counters.dropped).toBe(0);
  });

  it('gives a batch up after max_retry_time and counts it dropped', async () => {
    const counters = fresh();
    const q = new LogQueue({
      settings: settings({ max_retry_time: 0.02 }),
      counters,
      send: async () => {
        throw new Error('down');
      },
    });
    q.push('a');
    await until(() => counters.dropped === 1);
    expect(counters.sent).toBe(0);
  });

  it('does not retry at all with max_retry_time -1', async () => {
    const counters = fresh();
    let calls = 0;
    const q = new LogQueue({
      settings: settings({ max_retry_time: -1 }),
      counters,
      send: async () => {
        calls++;
        throw new Error('down');
      },
    });
    q.push('a');
    await until(() => counters.dropped === 1);
    expect(calls).toBe(1);
  });

  it('holds at most max_entries, dropping the oldest and counting each drop', async () => {
    const counters = fresh();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const got: string[] = [];
    const q = new LogQueue({
      settings: settings({ max_entries: 3 }),
      counters,
      send: async (b) => {
        await gate;
        got.push(...b);
      },
    });
    q.push('first');
    await new Promise((r) => setTimeout(r, 10)); // 'first' is in flight
    for (const e of ['a', 'b', 'c', 'd', 'e']) q.push(e);
    expect(q.size).toBe(3);
    expect(counters.dropped).toBe(2);
    release();
    await until(() => counters.sent === 4);
    expect(got).toEqual(['first', 'c', 'd', 'e']);
  });

  it('holds at most max_bytes and refuses an entry larger than it', () => {
    const counters = fresh();
    const q = new LogQueue({
      settings: settings({ max_bytes: 10, max_coalescing_delay: 10, max_batch_size: 100 }),
      counters,
      send: async () => undefined,
    });
    q.push('12345');
    q.push('12345');
    q.push('123');
    expect(q.size).toBe(2);
    expect(counters.dropped).toBe(1);
    q.push('x'.repeat(11));
    expect(counters.dropped).toBe(2);
    q.close();
  });
});

import { describe, expect, it } from 'vitest';
import type { CounterRequestMessage } from '../workers/protocol.js';
import { CounterStore } from './counter-store.js';
import { answerCounters, InProcessPolicy, IpcCounterPolicy } from './local-policy.js';

const hit = (key: string) => ({ key, windowSeconds: 60, windowStart: 0 });

/** Two workers' clients wired to one primary store, as the worker pool wires them. */
function node() {
  const store = new CounterStore(() => 0);
  const sent: CounterRequestMessage[] = [];
  const worker = () => {
    const client: IpcCounterPolicy = new IpcCounterPolicy({
      send: (m) => {
        sent.push(m);
        const reply = answerCounters(store, structuredClone(m));
        setImmediate(() => client.onReply(structuredClone(reply)));
        return true;
      },
    });
    return client;
  };
  return { store, sent, a: worker(), b: worker() };
}

describe('local policy over the worker IPC', () => {
  it('sends every operation of one event-loop turn in one message and answers each in order', async () => {
    const { sent, a } = node();
    const results = await Promise.all([
      a.increment([hit('x')], 1),
      a.increment([hit('x'), hit('y')], 1),
      a.usage([hit('x'), hit('z')]),
      a.increment([hit('x')], -1),
    ]);
    expect(sent).toHaveLength(1);
    // Four operations, six counters: (amount, count) per operation + 3 fields per counter.
    expect(sent[0]!.ops).toHaveLength(4 * 2 + 6 * 3);
    expect(results).toEqual([[1], [2, 1], [2, 0], [1]]);
  });

  it('counts the workers of a node in one store: N workers admit the limit once', async () => {
    const { a, b } = node();
    const counts = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).increment([hit('shared')], 1)),
    );
    const values = counts.map((c) => c[0]!).sort((x, y) => x - y);
    expect(values).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(values.filter((v) => v <= 5)).toHaveLength(5);
  });

  it('rejects when there is no channel to the primary', async () => {
    const client = new IpcCounterPolicy({ send: () => false });
    await expect(client.increment([hit('x')], 1)).rejects.toThrow(/no channel/);
  });

  it('rejects a batch the primary never answers, and one it answers with an error', async () => {
    const silent = new IpcCounterPolicy({ send: () => true, timeoutMs: 5 });
    await expect(silent.usage([hit('x')])).rejects.toThrow(/did not answer/);
    const failing: IpcCounterPolicy = new IpcCounterPolicy({
      send: (m) => {
        setImmediate(() => failing.onReply({ t: 'counters', id: m.id, values: [], error: 'boom' }));
        return true;
      },
    });
    await expect(failing.increment([hit('x')], 1)).rejects.toThrow(/boom/);
  });

  it('rejects what is in flight when closed, and everything after', async () => {
    const client = new IpcCounterPolicy({ send: () => true });
    const pending = client.usage([hit('x')]);
    await new Promise((r) => setImmediate(r));
    await client.close();
    await expect(pending).rejects.toThrow(/closed/);
    await expect(client.usage([hit('x')])).rejects.toThrow(/closed/);
  });

  it('counts in this process when there is no primary', async () => {
    const local = new InProcessPolicy(new CounterStore(() => 0));
    expect(await local.increment([hit('x')], 3)).toEqual([3]);
    expect(await local.usage([hit('x')])).toEqual([3]);
  });
});

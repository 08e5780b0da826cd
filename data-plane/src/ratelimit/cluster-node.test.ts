import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, type Plugin } from '@gatehouse/shared';
import { ClusterNode, configUsesClusterPolicy } from './cluster-node.js';
import { answerCounters, IpcCounterPolicy } from './local-policy.js';
import { DataPlaneMetrics } from '../status/metrics.js';
import type { CounterReplyMessage, CounterRequestMessage } from '../workers/protocol.js';

function plugin(name: string, config: Record<string, unknown>, enabled = true): Plugin {
  return {
    id: `${name}-id`,
    name,
    instance_name: null,
    config,
    protocols: ['http', 'https'],
    enabled,
    service: null,
    route: null,
    consumer: null,
    consumer_group: null,
    tags: null,
    created_at: 0,
    updated_at: 0,
  };
}

describe('the node cluster policy follows the config', () => {
  it('is used only by an enabled rate-limiting or response-ratelimiting plugin with policy cluster', () => {
    expect(configUsesClusterPolicy({ plugins: [] })).toBe(false);
    expect(configUsesClusterPolicy({ plugins: [plugin('rate-limiting', { policy: 'local' })] })).toBe(false);
    expect(
      configUsesClusterPolicy({ plugins: [plugin('rate-limiting', { policy: 'cluster' }, false)] }),
    ).toBe(false);
    expect(configUsesClusterPolicy({ plugins: [plugin('key-auth', { policy: 'cluster' })] })).toBe(false);
    expect(configUsesClusterPolicy({ plugins: [plugin('rate-limiting', { policy: 'cluster' })] })).toBe(true);
    expect(
      configUsesClusterPolicy({ plugins: [plugin('response-ratelimiting', { policy: 'cluster' })] }),
    ).toBe(true);
  });

  it('makes the policy when a config uses it (warning at config time without NATS) and closes it when none does', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const node = new ClusterNode({ region: 'eu', logger: createLogger('t', { level: 'info' }, sink) });
    expect(node.status()).toBeNull();
    node.follow(true);
    const first = node.policy;
    expect(node.status()).toEqual({ state: 'local-only', degraded: true, subject: 'gatehouse.ratelimit.eu' });
    expect(lines.join('')).toMatch(/NATS_URL unset/);
    node.follow(true);
    expect(node.policy).toBe(first);
    node.follow(false);
    expect(node.policy).toBeNull();
    expect(first!.state).toBe('closed');
    expect(node.acquire()).not.toBe(first);
    await node.close();
    expect(node.status()).toBeNull();
  });

  it("workers count through the primary's cluster policy over IPC (requests and replies tagged cluster)", async () => {
    const node = new ClusterNode({});
    const sent: CounterRequestMessage[] = [];
    let worker: IpcCounterPolicy;
    const answer = (m: CounterRequestMessage): boolean => {
      sent.push(m);
      const reply: CounterReplyMessage = answerCounters(node.counters(), m);
      setImmediate(() => worker.onReply(reply));
      return true;
    };
    worker = new IpcCounterPolicy({ send: answer, policy: 'cluster' });
    const other = new IpcCounterPolicy({ send: answer, policy: 'cluster' });
    const now = Date.now();
    const hit = { key: 'p:k', windowSeconds: 60, windowStart: now - (now % 60_000) };
    expect(worker.name).toBe('cluster');
    expect(await worker.increment([hit], 2)).toEqual([2]);
    expect(sent[0]!.store).toBe('cluster');
    // Another worker's adds land in the same node counter.
    worker = other;
    expect(await other.increment([hit], 1)).toEqual([3]);
    expect(node.policy!.usageNow([hit])).toEqual([3]);
    await node.close();
  });

  it('counts each decision taken on local counts alone, and /metrics says whether counts are shared', async () => {
    const metrics = new DataPlaneMetrics({ defaultMetrics: false });
    const node = new ClusterNode({
      region: 'eu',
      onLocalDecision: () => metrics.clusterRateLimitLocalDecisions.inc(),
    });
    metrics.clusterPolicy = () => node.status();
    const text = () => metrics.registry.metrics();
    // No config uses the policy: no series for the gauge.
    expect(await text()).not.toMatch(/^gatehouse_ratelimit_cluster_connected\{/m);
    expect(await text()).toMatch(/^gatehouse_ratelimit_cluster_local_decisions_total 0$/m);
    node.follow(true);
    const now = Date.now();
    const hit = { key: 'p:k', windowSeconds: 60, windowStart: now - (now % 60_000) };
    // No NATS: every increment is a local-only decision; reading usage is not a decision.
    node.counters().increment([hit], 1);
    node.counters().increment([hit, hit], 1);
    node.counters().usage([hit]);
    const out = await text();
    expect(out).toMatch(/^gatehouse_ratelimit_cluster_connected\{subject="gatehouse.ratelimit.eu"\} 0$/m);
    expect(out).toMatch(/^gatehouse_ratelimit_cluster_local_decisions_total 2$/m);
    node.follow(false);
    expect(await text()).not.toMatch(/^gatehouse_ratelimit_cluster_connected\{/m);
    await node.close();
  });
});

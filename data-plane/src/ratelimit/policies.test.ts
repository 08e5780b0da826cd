import { describe, expect, it } from 'vitest';
import { createLogger } from '@gatehouse/shared';
import { InProcessPolicy } from './local-policy.js';
import {
  getLocalPolicy,
  redisPolicyConfig,
  selectPolicy,
  setClusterPolicy,
  setLocalPolicy,
} from './policies.js';

function recordingLogger() {
  const lines: string[] = [];
  const log = createLogger('policies-test', { level: 'warn' });
  log.warn = ((_obj: unknown, msg: string) => {
    lines.push(msg);
  }) as typeof log.warn;
  return { log, lines };
}

describe('policy selection', () => {
  it('answers the node-wide local policy for local, the one a worker sets at boot', () => {
    const before = getLocalPolicy();
    const mine = new InProcessPolicy();
    setLocalPolicy(mine);
    try {
      const { log, lines } = recordingLogger();
      expect(selectPolicy({ policy: 'local', redis: null, syncRate: -1, instanceId: 'a', log })).toBe(mine);
      expect(lines).toEqual([]);
    } finally {
      setLocalPolicy(before);
    }
  });

  it('answers the node-wide cluster policy for cluster, the one a worker sets at boot', () => {
    const mine = new InProcessPolicy();
    setClusterPolicy(mine);
    const { log, lines } = recordingLogger();
    expect(selectPolicy({ policy: 'cluster', redis: null, syncRate: -1, instanceId: 'c', log })).toBe(mine);
    expect(lines).toEqual([]);
  });

  it('answers one redis policy per redis config and sync_rate (nulls are the defaults)', async () => {
    const { log } = recordingLogger();
    const redis = {
      host: '127.0.0.1',
      port: 6379,
      timeout: 2000,
      username: null,
      password: null,
      database: 9,
      ssl: false,
      ssl_verify: false,
      server_name: null,
    };
    const a = selectPolicy({ policy: 'redis', redis, syncRate: -1, instanceId: 'r1', log });
    const b = selectPolicy({ policy: 'redis', redis: { ...redis }, syncRate: -1, instanceId: 'r2', log });
    expect(a.name).toBe('redis');
    expect(b).toBe(a);
    expect(selectPolicy({ policy: 'redis', redis, syncRate: 1, instanceId: 'r3', log })).not.toBe(a);
    expect(redisPolicyConfig(redis, -1)).toEqual({
      host: '127.0.0.1',
      port: 6379,
      timeout: 2000,
      database: 9,
      ssl: false,
      ssl_verify: false,
      sync_rate: -1,
    });
    await a.close();
  });

  it('a redis config the policy refuses makes every call reject (fault_tolerant applies), said once', async () => {
    const { log, lines } = recordingLogger();
    log.error = log.warn;
    const p = selectPolicy({ policy: 'redis', redis: null, syncRate: -1, instanceId: 'bad', log });
    await expect(p.increment([{ key: 'k', windowSeconds: 1, windowStart: 0 }], 1)).rejects.toThrow(
      /redis\.host/,
    );
    selectPolicy({ policy: 'redis', redis: null, syncRate: -1, instanceId: 'bad', log });
    expect(lines).toHaveLength(1);
  });
});

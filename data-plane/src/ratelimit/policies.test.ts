import { describe, expect, it } from 'vitest';
import { createLogger } from '@gatehouse/shared';
import { InProcessPolicy } from './local-policy.js';
import { getLocalPolicy, selectPolicy, setLocalPolicy } from './policies.js';

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

  it('falls back to local for redis and cluster, warning once per plugin instance', () => {
    const { log, lines } = recordingLogger();
    const req = { redis: null, syncRate: -1, log };
    expect(selectPolicy({ ...req, policy: 'redis', instanceId: 'p1' })).toBe(getLocalPolicy());
    selectPolicy({ ...req, policy: 'redis', instanceId: 'p1' });
    selectPolicy({ ...req, policy: 'cluster', instanceId: 'p1' });
    selectPolicy({ ...req, policy: 'redis', instanceId: 'p2' });
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/policy 'redis' is not available.*'local'/);
  });
});

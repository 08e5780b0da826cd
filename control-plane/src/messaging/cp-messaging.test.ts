import { describe, expect, it } from 'vitest';
import { createLogger } from '@gatehouse/shared';
import { createCpMessaging } from './cp-messaging.js';
import { connectReplicas } from './replicas.js';

const logger = createLogger('test', { level: 'silent' });

describe('CP messaging without NATS_URL', () => {
  it('is a no-op adapter: state off, publishing does nothing, a purge still reaches local DPs', async () => {
    const messaging = createCpMessaging({ cpId: 'cp-1', logger });
    expect(messaging.state).toBe('off');
    expect(messaging.status()).toMatchObject({ state: 'off', published: 0, servers: [] });
    const listeners: ((v: bigint) => void)[] = [];
    const purged: unknown[] = [];
    const rebuilds: (bigint | undefined)[] = [];
    const wiring = connectReplicas({
      messaging,
      store: {
        onChange: (l) => (listeners.push(l), () => listeners.splice(listeners.indexOf(l), 1)),
        currentVersion: () => Promise.resolve(7n),
      },
      versionCheckMs: 0,
      publisher: { notifyChange: (v) => rebuilds.push(v) },
      local: {
        broadcastPurge: (o) => (purged.push(o), 2),
        broadcastTargetHealth: () => 1,
        broadcastOAuth2Revocations: () => 1,
      },
    });
    for (const l of listeners) l(7n);
    expect(wiring.purgeRelay.broadcastPurge({ pluginId: null, key: null })).toBe(2);
    expect(purged).toEqual([{ pluginId: null, key: null }]);
    expect(messaging.status().published).toBe(0);
    expect(rebuilds).toEqual([]);
    wiring.stop();
    expect(listeners).toEqual([]);
    await messaging.close();
  });

  it('treats an empty NATS_URL as unset', () => {
    expect(createCpMessaging({ natsUrl: '  ', cpId: 'cp-1', logger }).state).toBe('off');
  });
});

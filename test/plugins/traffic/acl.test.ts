import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Acl } from '@gatehouse/shared';
import {
  call,
  consumer,
  plugin,
  startTrafficGateway,
  type SeenRequest,
  type TrafficGateway,
} from './helpers.js';

const now = Math.floor(Date.now() / 1000);
const key = (id: string, consumerId: string, k: string) => ({
  id,
  consumer: { id: consumerId },
  key: k,
  ttl: null,
  tags: null,
  created_at: now,
});
const acl = (id: string, consumerId: string, group: string, at = now): Acl => ({
  id,
  consumer: { id: consumerId },
  group,
  tags: null,
  created_at: at,
});

describe('Plugin: acl (access, real ProxyServer)', () => {
  let gw: TrafficGateway;
  beforeAll(async () => {
    gw = await startTrafficGateway();
  });
  afterAll(async () => {
    await gw.close();
  });

  const base = (aclConfig: Record<string, unknown>) => ({
    consumers: [consumer('alice'), consumer('bob'), consumer('carol')],
    keyauth_credentials: [
      key('k1', 'alice', 'alice-key'),
      key('k2', 'bob', 'bob-key'),
      key('k3', 'carol', 'carol-key'),
    ],
    acls: [
      acl('a1', 'alice', 'admins', now),
      acl('a2', 'alice', 'users', now + 1),
      acl('b1', 'bob', 'users'),
    ],
    consumer_groups: [{ id: 'g-gold', name: 'gold', tags: null, created_at: now, updated_at: now }],
    consumer_group_consumers: [
      { id: 'm1', consumer_group: { id: 'g-gold' }, consumer: { id: 'carol' }, created_at: now },
    ],
    plugins: [
      plugin('key-auth', {}, { route: { id: 'r' } }),
      plugin('acl', aclConfig, { route: { id: 'r' } }),
    ],
  });

  it('returns 401 when no consumer was authenticated', async () => {
    gw.apply({ plugins: [plugin('acl', { allow: ['admins'] }, { route: { id: 'r' } })] });
    const r = await call(gw.port, '/x');
    expect(r.status).toBe(401);
    expect(r.json()).toEqual({ message: 'Unauthorized' });
  });

  it('proxies a consumer of an allowed group with X-Consumer-Groups', async () => {
    gw.apply(base({ allow: ['admins'] }));
    const r = await call(gw.port, '/x', { headers: { apikey: 'alice-key' } });
    expect(r.status).toBe(200);
    expect(r.json<SeenRequest>().headers['x-consumer-groups']).toBe('admins, users');
  });

  it('returns 403 "You cannot consume this service" for a consumer outside allow, without calling the upstream', async () => {
    gw.apply(base({ allow: ['admins'] }));
    const before = gw.upstreamHits();
    const r = await call(gw.port, '/x', { headers: { apikey: 'bob-key' } });
    expect(r.status).toBe(403);
    expect(r.json()).toEqual({ message: 'You cannot consume this service' });
    expect(gw.upstreamHits()).toBe(before);
  });

  it('returns 403 for a consumer in a denied group and proxies the others', async () => {
    gw.apply(base({ deny: ['admins'] }));
    expect((await call(gw.port, '/x', { headers: { apikey: 'alice-key' } })).status).toBe(403);
    expect((await call(gw.port, '/x', { headers: { apikey: 'bob-key' } })).status).toBe(200);
    expect((await call(gw.port, '/x', { headers: { apikey: 'carol-key' } })).status).toBe(200);
  });

  it('does not send (nor pass on a spoofed) X-Consumer-Groups with hide_groups_header', async () => {
    gw.apply(base({ allow: ['users'], hide_groups_header: true }));
    const r = await call(gw.port, '/x', { headers: { apikey: 'bob-key', 'x-consumer-groups': 'admins' } });
    expect(r.status).toBe(200);
    expect(r.json<SeenRequest>().headers['x-consumer-groups']).toBeUndefined();
  });

  it('lets consumer group names count with include_consumer_groups', async () => {
    gw.apply(base({ allow: ['gold'] }));
    expect((await call(gw.port, '/x', { headers: { apikey: 'carol-key' } })).status).toBe(403);
    gw.apply(base({ allow: ['gold'], include_consumer_groups: true }));
    const r = await call(gw.port, '/x', { headers: { apikey: 'carol-key' } });
    expect(r.status).toBe(200);
    expect(r.json<SeenRequest>().headers['x-consumer-groups']).toBe('gold');
  });

  it('follows a change of groups in the next snapshot', async () => {
    gw.apply(base({ allow: ['admins'] }));
    expect((await call(gw.port, '/x', { headers: { apikey: 'bob-key' } })).status).toBe(403);
    const next = base({ allow: ['admins'] });
    next.acls.push(acl('b2', 'bob', 'admins'));
    gw.apply(next);
    expect((await call(gw.port, '/x', { headers: { apikey: 'bob-key' } })).status).toBe(200);
  });
});

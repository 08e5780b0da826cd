import { describe, expect, it } from 'vitest';
import { schema, type Acl, type Consumer } from '@gatehouse/shared';
import plugin, { FORBIDDEN_MESSAGE } from './plugin.js';
import type { PluginRequest } from '../runtime/context.js';
import { initialise, outcome, pluginRequest, snapshotOf } from '../runtime/test-support.js';

const alice: Consumer = {
  id: 'c-alice',
  username: 'alice',
  custom_id: null,
  tags: null,
  created_at: 1,
  updated_at: 1,
};
const bob: Consumer = {
  id: 'c-bob',
  username: 'bob',
  custom_id: null,
  tags: null,
  created_at: 1,
  updated_at: 1,
};
const carol: Consumer = {
  id: 'c-carol',
  username: 'carol',
  custom_id: null,
  tags: null,
  created_at: 1,
  updated_at: 1,
};
const acl = (id: string, consumer: Consumer, group: string, at = 1): Acl => ({
  id,
  consumer: { id: consumer.id },
  group,
  tags: null,
  created_at: at,
});

const SNAPSHOT = snapshotOf({
  consumers: [alice, bob, carol],
  acls: [acl('a1', alice, 'admins', 1), acl('a2', alice, 'users', 2), acl('b1', bob, 'users')],
  consumer_groups: [{ id: 'g-gold', name: 'gold', tags: null, created_at: 1, updated_at: 1 }],
  consumer_group_consumers: [
    { id: 'm1', consumer_group: { id: 'g-gold' }, consumer: { id: carol.id }, created_at: 1 },
  ],
});

const cred = (consumer: Consumer) => ({
  id: `cred-${consumer.id}`,
  type: 'key-auth',
  identifier: 'k',
  consumerId: consumer.id,
});

function run(config: Record<string, unknown>, setup: (ctx: PluginRequest) => void = () => {}) {
  const state = initialise(plugin, SNAPSHOT, config);
  const ctx = pluginRequest(SNAPSHOT);
  setup(ctx);
  void plugin.access!(ctx, state);
  return outcome(ctx);
}

const as = (consumer: Consumer) => (ctx: PluginRequest) => ctx.authenticate(consumer, cred(consumer));

describe('acl', () => {
  it('returns 401 when no consumer was authenticated', () => {
    expect(run({ allow: ['admins'] }).answer).toMatchObject({
      status: 401,
      json: { message: 'Unauthorized' },
    });
  });

  it('lets a consumer of an allowed group through and sends its groups upstream', () => {
    const out = run({ allow: ['admins'] }, as(alice));
    expect(out.answer).toBeNull();
    expect(out.upstreamHeaders['x-consumer-groups']).toBe('admins, users');
  });

  it('returns 403 "You cannot consume this service" for a consumer outside allow', () => {
    expect(run({ allow: ['admins'] }, as(bob)).answer).toMatchObject({
      status: 403,
      json: { message: FORBIDDEN_MESSAGE },
    });
  });

  it('returns 403 for a consumer in a denied group and lets others through', () => {
    expect(run({ deny: ['admins'] }, as(alice)).answer?.status).toBe(403);
    expect(run({ deny: ['admins'] }, as(bob)).answer).toBeNull();
  });

  it('refuses a consumer without any group on an allow list (403 with a credential) and passes it on a deny list', () => {
    expect(run({ allow: ['users'] }, as(carol)).answer?.status).toBe(403);
    const denyCtx = run({ deny: ['users'] }, as(carol));
    expect(denyCtx.answer).toBeNull();
    expect(denyCtx.upstreamHeaders['x-consumer-groups']).toBeNull();
  });

  it('counts consumer group names as groups with include_consumer_groups', () => {
    expect(run({ allow: ['gold'] }, as(carol)).answer?.status).toBe(403);
    const out = run({ allow: ['gold'], include_consumer_groups: true }, as(carol));
    expect(out.answer).toBeNull();
    expect(out.upstreamHeaders['x-consumer-groups']).toBe('gold');
  });

  it('hides the groups header, removing a client-sent one, with hide_groups_header', () => {
    const out = run({ allow: ['admins'], hide_groups_header: true }, as(alice));
    expect(out.answer).toBeNull();
    expect(out.upstreamHeaders['x-consumer-groups']).toBeNull();
  });

  it('uses authenticated groups when there is no consumer', () => {
    const ok = run({ allow: ['ops'] }, (ctx) => (ctx.shared.authenticated_groups = ['ops', 'dev']));
    expect(ok.answer).toBeNull();
    expect(ok.upstreamHeaders['x-authenticated-groups']).toBe('ops, dev');
    expect(run({ allow: ['ops'] }, (ctx) => (ctx.shared.authenticated_groups = ['dev'])).answer?.status).toBe(
      403,
    );
  });

  it('prefers authenticated groups for an anonymous consumer, the consumer groups otherwise', () => {
    const anon = run({ allow: ['ops'] }, (ctx) => {
      ctx.authenticate(bob, null, { anonymous: true });
      ctx.shared.authenticated_groups = ['ops'];
    });
    expect(anon.answer).toBeNull();
    const withCredential = run({ allow: ['ops'] }, (ctx) => {
      as(bob)(ctx);
      ctx.shared.authenticated_groups = ['ops'];
    });
    expect(withCredential.answer?.status).toBe(403);
    const always = run({ allow: ['ops'], always_use_authenticated_groups: true }, (ctx) => {
      as(bob)(ctx);
      ctx.shared.authenticated_groups = ['ops'];
    });
    expect(always.answer).toBeNull();
  });

  it('refuses configs with both or neither of allow and deny', () => {
    expect(schema.check(plugin.schema, {}).errors).not.toBeNull();
    expect(schema.check(plugin.schema, { allow: ['a'], deny: ['b'] }).errors).not.toBeNull();
    expect(schema.validate(plugin.schema, { allow: ['a'] }).value).toEqual({
      allow: ['a'],
      deny: null,
      hide_groups_header: false,
      always_use_authenticated_groups: false,
      include_consumer_groups: false,
    });
  });
});

import { describe, expect, it } from 'vitest';
import { schema } from '@gatehouse/shared';
import plugin, { DEFAULT_MESSAGE } from './plugin.js';
import { initialise, outcome, pluginRequest, snapshotOf } from '../runtime/test-support.js';

const snapshot = snapshotOf({});

function run(config: Record<string, unknown>, clientIp: string) {
  const state = initialise(plugin, snapshot, config);
  const ctx = pluginRequest(snapshot, { clientIp });
  void plugin.access!(ctx, state);
  return outcome(ctx);
}

describe('ip-restriction', () => {
  it('returns 403 "Your IP address is not allowed" when the client IP is in deny', () => {
    const out = run({ deny: ['10.0.0.0/8'] }, '10.2.3.4');
    expect(out.answer).toMatchObject({ status: 403, json: { message: DEFAULT_MESSAGE }, headers: {} });
  });

  it('lets a client outside deny through', () => {
    expect(run({ deny: ['10.0.0.0/8'] }, '11.0.0.1').answer).toBeNull();
  });

  it('refuses a client outside a non-empty allow list', () => {
    expect(run({ allow: ['192.168.0.0/16', '2001:db8::/32'] }, '10.0.0.1').answer?.status).toBe(403);
    expect(run({ allow: ['192.168.0.0/16', '2001:db8::/32'] }, '2001:db8::5').answer).toBeNull();
  });

  it('checks deny before allow', () => {
    expect(run({ allow: ['10.0.0.0/8'], deny: ['10.1.0.0/16'] }, '10.1.2.3').answer).not.toBeNull();
    expect(run({ allow: ['10.0.0.0/8'], deny: ['10.1.0.0/16'] }, '10.2.2.3').answer).toBeNull();
  });

  it('uses the configured status and message', () => {
    const out = run({ deny: ['::1'], status: 401, message: 'go away' }, '::1');
    expect(out.answer).toMatchObject({ status: 401, json: { message: 'go away' } });
  });

  it('matches an IPv4-mapped client address against IPv4 blocks', () => {
    expect(run({ deny: ['127.0.0.1'] }, '::ffff:127.0.0.1').answer).not.toBeNull();
  });

  it('refuses a request whose client IP cannot be identified', () => {
    expect(run({ allow: ['0.0.0.0/0'] }, '').answer?.status).toBe(403);
  });

  it('refuses configs without allow and deny, with a bad address, or with an unsendable status', () => {
    expect(() => schema.validate(plugin.schema, {})).toThrow();
    expect(schema.check(plugin.schema, { allow: ['10.0.0.0/33'] }).errors).toEqual({
      allow: ["invalid ip or cidr range: '10.0.0.0/33'"],
    });
    expect(schema.check(plugin.schema, { deny: ['1.2.3.4'], status: 1000 }).errors).toEqual({
      status: 'value should be between 100 and 599',
    });
  });
});

import { describe, expect, it } from 'vitest';
import { schema } from '@gatehouse/shared';
import plugin from './plugin.js';
import { FakeContext, initPlugin } from '../acl/fixtures/fake-context.js';

function run(config: Record<string, unknown>, headers: string[]): FakeContext {
  const state = initPlugin(plugin, schema.validate(plugin.schema, config).value);
  const ctx = new FakeContext({ headers });
  void plugin.access!(ctx, state);
  return ctx;
}

describe('bot-detection', () => {
  it('returns 403 "Forbidden" for a known crawler', () => {
    const ctx = run({}, [
      'User-Agent',
      'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
    ]);
    expect(ctx.respondedWith).toMatchObject({ status: 403, message: 'Forbidden' });
  });

  it('lets a browser and a request without User-Agent through', () => {
    expect(
      run({}, ['User-Agent', 'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0'])
        .responded,
    ).toBe(false);
    expect(run({}, []).responded).toBe(false);
  });

  it('returns 400 when the request carries several User-Agent headers', () => {
    const ctx = run({}, ['User-Agent', 'a', 'user-agent', 'b']);
    expect(ctx.respondedWith).toMatchObject({ status: 400, message: 'Only one User-Agent header allowed' });
  });

  it('applies the allow and deny regexes', () => {
    expect(run({ allow: ['Googlebot'] }, ['User-Agent', 'Googlebot/2.1']).responded).toBe(false);
    expect(run({ deny: ['^curl/'] }, ['User-Agent', 'curl/8.5.0']).respondedWith?.status).toBe(403);
  });

  it('refuses a config with an invalid regex', () => {
    expect(schema.check(plugin.schema, { deny: ['('] }).errors).toEqual({ deny: ['not a valid regex: ('] });
    expect(schema.validate(plugin.schema, {}).value).toEqual({ allow: [], deny: [] });
  });
});

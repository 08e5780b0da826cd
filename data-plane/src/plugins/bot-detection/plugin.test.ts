import { describe, expect, it } from 'vitest';
import { schema } from '@gatehouse/shared';
import plugin from './plugin.js';
import { initialise, outcome, pluginRequest, snapshotOf } from '../runtime/test-support.js';

const snapshot = snapshotOf({});

function run(config: Record<string, unknown>, headers: [string, string][]) {
  const state = initialise(plugin, snapshot, config);
  const ctx = pluginRequest(snapshot, { headers });
  void plugin.access!(ctx, state);
  return outcome(ctx);
}

describe('bot-detection', () => {
  it('returns 403 "Forbidden" for a known crawler', () => {
    const out = run({}, [
      ['User-Agent', 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'],
    ]);
    expect(out.answer).toMatchObject({ status: 403, json: { message: 'Forbidden' } });
  });

  it('lets a browser and a request without User-Agent through', () => {
    expect(
      run({}, [['User-Agent', 'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0']])
        .answer,
    ).toBeNull();
    expect(run({}, []).answer).toBeNull();
  });

  it('returns 400 when the request carries several User-Agent headers', () => {
    const out = run({}, [
      ['User-Agent', 'a'],
      ['user-agent', 'b'],
    ]);
    expect(out.answer).toMatchObject({
      status: 400,
      json: { message: 'Only one User-Agent header allowed' },
    });
  });

  it('applies the allow and deny regexes', () => {
    expect(run({ allow: ['Googlebot'] }, [['User-Agent', 'Googlebot/2.1']]).answer).toBeNull();
    expect(run({ deny: ['^curl/'] }, [['User-Agent', 'curl/8.5.0']]).answer?.status).toBe(403);
  });

  it('refuses a config with an invalid regex', () => {
    expect(schema.check(plugin.schema, { deny: ['('] }).errors).toEqual({ deny: ['not a valid regex: ('] });
    expect(schema.validate(plugin.schema, {}).value).toEqual({ allow: [], deny: [] });
  });
});

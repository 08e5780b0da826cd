import { describe, expect, it, vi } from 'vitest';
import { schema } from '@gatehouse/shared';
import plugin from './plugin.js';
import { metricStore } from '../../observe/metric-store.js';
import {
  initialise,
  outcome,
  pluginRequest,
  run,
  snapshotOf,
  type TestRequest,
} from '../runtime/test-support.js';

const snapshot = snapshotOf({});
const UA: [string, string] = ['User-Agent', 'curl/8.5.0'];

async function exchange(config: Record<string, unknown>, r: TestRequest) {
  const state = initialise(plugin, snapshot, config);
  const ctx = pluginRequest(snapshot, { ...r, headers: [UA, ...(r.headers ?? [])] });
  const warn = vi.spyOn(ctx.log, 'warn');
  await run(plugin.access!(ctx, state));
  return { out: outcome(ctx), warn };
}

function wafCounts(): Record<string, number> {
  const d = metricStore.drain().plugins;
  const out: Record<string, number> = {};
  for (let i = 0; i + 2 < d.length; i += 3) if (d[i] === 'waf') out[d[i + 1] as string] = d[i + 2] as number;
  return out;
}

describe('waf', () => {
  it('answers 403 "Forbidden" for a SQL injection in the query in block mode, and counts it', async () => {
    wafCounts();
    const { out } = await exchange({}, { query: `id=${encodeURIComponent("1' or '1'='1")}` });
    expect(out.answer).toMatchObject({
      status: 403,
      json: { message: 'Forbidden' },
      headers: { 'x-gatehouse-error-code': 'GH_ERR_PLUGIN_WAF_BLOCKED' },
    });
    expect(wafCounts()).toEqual({ blocked: 1 });
  });

  it('lets benign traffic through and counts it as passed', async () => {
    wafCounts();
    const { out } = await exchange({}, { path: '/users/42', query: "name=O'Brien&email=ob%40example.com" });
    expect(out.answer).toBeNull();
    expect(wafCounts()).toEqual({ passed: 1 });
  });

  it('only logs and counts in detect mode, with rule ids, location, score and a short excerpt', async () => {
    wafCounts();
    const payload = `<script>alert(document.cookie)</script>${'x'.repeat(200)}`;
    const { out, warn } = await exchange({ mode: 'detect' }, { query: `c=${encodeURIComponent(payload)}` });
    expect(out.answer).toBeNull();
    expect(wafCounts()).toEqual({ detected: 1 });
    const [fields, message] = warn.mock.calls[0] as [
      { waf: { score: number; matches: { id: number; location: string; excerpt: string }[] } },
      string,
    ];
    expect(message).toBe('waf: request detected');
    expect(fields.waf.score).toBeGreaterThanOrEqual(5);
    expect(fields.waf.matches).toContainEqual(expect.objectContaining({ id: 941100, location: 'args:c' }));
    const logged = JSON.stringify(fields);
    expect(logged).not.toContain('x'.repeat(20));
    for (const m of fields.waf.matches) expect(m.excerpt.length).toBeLessThanOrEqual(40);
  });

  it('blocks traversal in the path, command injection in a header and a Shellshock header', async () => {
    expect((await exchange({}, { path: '/files/%2e%2e/%2e%2e/etc/passwd' })).out.answer?.status).toBe(403);
    expect((await exchange({}, { headers: [['Referer', 'x; cat /etc/passwd']] })).out.answer?.status).toBe(
      403,
    );
    expect((await exchange({}, { headers: [['X-Custom', '() { :; }; /bin/id']] })).out.answer?.status).toBe(
      403,
    );
  });

  it('scores rules once each and blocks only when the sum reaches anomaly_threshold', async () => {
    // One critical rule (5) under a threshold of 10 passes; two distinct criticals reach it.
    const one = `q=${encodeURIComponent('1 union select 2')}`;
    expect((await exchange({ anomaly_threshold: 10 }, { query: one })).out.answer).toBeNull();
    const two = `q=${encodeURIComponent("' union select 2 from information_schema.tables--")}`;
    expect((await exchange({ anomaly_threshold: 10 }, { query: two })).out.answer?.status).toBe(403);
  });

  it('runs higher paranoia rules only when the level asks for them', async () => {
    const q = `q=${encodeURIComponent('Select a file from the list')}`;
    expect((await exchange({}, { query: q })).out.answer).toBeNull();
    expect((await exchange({ paranoia_level: 2 }, { query: q })).out.answer?.status).toBe(403);
  });

  it('honours disabled_rules and exclusions by rule id, by category and by whole target', async () => {
    const q = `html=${encodeURIComponent('<script>x</script>')}`;
    expect((await exchange({ disabled_rules: [941100] }, { query: q })).out.answer).toBeNull();
    expect(
      (await exchange({ exclusions: [{ target: 'args:html', rule_ids: [941100] }] }, { query: q })).out
        .answer,
    ).toBeNull();
    expect(
      (await exchange({ exclusions: [{ target: 'args:html', categories: ['xss'] }] }, { query: q })).out
        .answer,
    ).toBeNull();
    expect((await exchange({ exclusions: [{ target: 'args:html' }] }, { query: q })).out.answer).toBeNull();
    // Another argument is still inspected.
    expect(
      (await exchange({ exclusions: [{ target: 'args:other' }] }, { query: q })).out.answer?.status,
    ).toBe(403);
    const h: [string, string] = ['User-Agent', '<script>'];
    expect(
      (await exchange({ exclusions: [{ target: 'headers:User-Agent' }] }, { headers: [h] })).out.answer,
    ).toBeNull();
  });

  it('parses JSON and form bodies into arguments and inspects other bodies as text', async () => {
    const post = (type: string, body: string) => ({
      method: 'POST',
      headers: [
        ['Content-Type', type],
        ['Content-Length', String(Buffer.byteLength(body))],
      ] as [string, string][],
      body,
    });
    const json = await exchange(
      {},
      post('application/json', JSON.stringify({ user: { bio: "' or 1=1--" } })),
    );
    expect(json.out.answer?.status).toBe(403);
    const excluded = await exchange(
      { exclusions: [{ target: 'args:user.bio' }] },
      post('application/json', JSON.stringify({ user: { bio: "' or 1=1--" } })),
    );
    expect(excluded.out.answer).toBeNull();
    expect(
      (await exchange({}, post('application/x-www-form-urlencoded', 'cmd=%3B%20cat%20%2Fetc%2Fpasswd'))).out
        .answer?.status,
    ).toBe(403);
    expect((await exchange({}, post('text/plain', 'hello <iframe src=x>'))).out.answer?.status).toBe(403);
    expect(
      (await exchange({}, post('application/json', JSON.stringify({ name: "O'Brien", note: 'Tom & Jerry' }))))
        .out.answer,
    ).toBeNull();
  });

  it('refuses a body over max_body_size with 413 (reject), or passes it uninspected (skip)', async () => {
    const body = `q=${'a'.repeat(100)}<script>`;
    const r = {
      method: 'POST',
      headers: [
        ['Content-Type', 'text/plain'],
        ['Content-Length', String(body.length)],
      ] as [string, string][],
      body,
    };
    expect((await exchange({ max_body_size: 64 }, r)).out.answer).toMatchObject({
      status: 413,
      json: { message: 'Request size limit exceeded' },
    });
    wafCounts();
    const skipped = await exchange({ max_body_size: 64, body_limit_action: 'skip' }, r);
    expect(skipped.out).toMatchObject({ answer: null, bodyRead: false });
    expect(wafCounts()).toEqual({ body_skipped: 1, passed: 1 });
    expect((await exchange({ max_body_size: 0 }, r)).out).toMatchObject({ answer: null, bodyRead: false });
  });

  it('reads a chunked body up to the bound in block mode and leaves it unread in detect mode', async () => {
    const r = {
      method: 'POST',
      headers: [
        ['Content-Type', 'text/plain'],
        ['Transfer-Encoding', 'chunked'],
      ] as [string, string][],
      body: '<script>',
    };
    expect((await exchange({}, r)).out.answer?.status).toBe(403);
    expect((await exchange({ mode: 'detect' }, r)).out).toMatchObject({ answer: null, bodyRead: false });
  });

  it('flags protocol anomalies: NUL byte, unknown method, bad encoding with another warning', async () => {
    expect((await exchange({}, { query: 'a=x%00y' })).out.answer?.status).toBe(403);
    expect((await exchange({}, { method: 'PROPFIND' })).out.answer?.status).toBe(403);
    // Invalid encoding is a warning (3): alone it passes.
    expect((await exchange({}, { query: 'a=%zz' })).out.answer).toBeNull();
  });

  it('fills the defaults and refuses unknown rule ids, categories and targets by field', () => {
    expect(schema.validate(plugin.schema, {}).value).toEqual({
      mode: 'block',
      paranoia_level: 1,
      anomaly_threshold: 5,
      max_body_size: 131072,
      body_limit_action: 'reject',
      disabled_rules: [],
      exclusions: [],
    });
    const bad = schema.check(plugin.schema, {
      paranoia_level: 5,
      disabled_rules: [123],
      exclusions: [{ target: 'query', categories: ['nope'] }],
    }).errors;
    expect(bad).toMatchObject({
      paranoia_level: expect.anything(),
      disabled_rules: expect.anything(),
      exclusions: expect.anything(),
    });
    expect(JSON.stringify(bad)).toContain('unknown rule id 123');
    expect(JSON.stringify(bad)).toContain("must be 'path', 'body'");
  });

  it('refuses an explicit null for exclusions or disabled_rules (a property test found init throwing on it)', () => {
    const errors = schema.check(plugin.schema, { exclusions: null, disabled_rules: null }).errors;
    expect(errors).toEqual({
      exclusions: 'required field missing',
      disabled_rules: 'required field missing',
    });
  });
});

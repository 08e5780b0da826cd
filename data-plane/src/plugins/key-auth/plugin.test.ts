import { describe, expect, expectTypeOf, it } from 'vitest';
import plugin from './plugin.js';
import type { KeyAuthConfig } from './schema.js';
import { initialise, outcome, pluginRequest, run, snapshotOf } from '../runtime/test-support.js';

const snapshot = snapshotOf({
  consumers: [{ id: 'c', username: 'u', custom_id: null, tags: null, created_at: 0, updated_at: 0 }],
  keyauth_credentials: [
    { id: 'k', consumer: { id: 'c' }, key: 'secret', ttl: null, tags: null, created_at: 0 },
  ],
});

describe('key-auth handler', () => {
  it('authenticates a key found in a header among key_names', async () => {
    const state = initialise(plugin, snapshot, { key_names: ['a', 'b'] });
    const ctx = pluginRequest(snapshot, { headers: [['B', 'secret']] });
    await run(plugin.access!(ctx, state));
    expect(ctx.consumer?.id).toBe('c');
    expect(ctx.credential).toMatchObject({ id: 'k', type: 'key-auth' });
  });

  it('answers 401 with the Kong message when no key is present', async () => {
    const state = initialise(plugin, snapshot, {});
    const ctx = pluginRequest(snapshot);
    await run(plugin.access!(ctx, state));
    expect(outcome(ctx).answer).toMatchObject({
      status: 401,
      headers: { 'WWW-Authenticate': 'Key' },
      json: { message: 'No API key found in request' },
    });
  });

  it('stops at an empty key, as Kong does: an empty header or `?apikey=` is no key, later names are not tried', async () => {
    const state = initialise(plugin, snapshot, { key_names: ['apikey', 'other'], hide_credentials: true });
    for (const request of [
      {
        headers: [
          ['apikey', ''],
          ['other', 'secret'],
        ] as [string, string][],
      },
      { query: 'apikey=&other=secret' },
      { headers: [['apikey', '']] as [string, string][], query: 'apikey=secret' },
    ]) {
      const ctx = pluginRequest(snapshot, request);
      await run(plugin.access!(ctx, state));
      expect(outcome(ctx).answer, JSON.stringify(request)).toMatchObject({
        status: 401,
        json: { message: 'No API key found in request' },
      });
    }
  });

  it('reads a bare `?apikey` (no value) as no key and goes on to the next name, as Kong reads `true`', async () => {
    const state = initialise(plugin, snapshot, { key_names: ['apikey', 'other'] });
    const ctx = pluginRequest(snapshot, { query: 'apikey&other=secret' });
    await run(plugin.access!(ctx, state));
    expect(outcome(ctx).answer).toBeNull();
    expect(ctx.consumer?.id).toBe('c');
  });

  it('marks a key read from the query string as a credential (the access log redacts it), valid or not', async () => {
    const state = initialise(plugin, snapshot, {});
    for (const query of ['apikey=secret', 'apikey=wrong', 'apikey=a&apikey=b', 'apikey=']) {
      const ctx = pluginRequest(snapshot, { query });
      await run(plugin.access!(ctx, state));
      expect([...(ctx.proxied.credentialQueryArgs ?? [])], query).toEqual(['apikey']);
    }
    const header = pluginRequest(snapshot, { headers: [['apikey', 'secret']], query: 'page=2' });
    await run(plugin.access!(header, state));
    expect(header.proxied.credentialQueryArgs).toBeNull();
  });

  it("has the log plugins' entry write the key as REDACTED, from a header or the query, valid or not", async () => {
    const state = initialise(plugin, snapshot, {});
    for (const key of ['secret', 'wrong']) {
      const inHeader = pluginRequest(snapshot, {
        headers: [
          ['apikey', key],
          ['x-other', 'kept'],
        ],
      });
      await run(plugin.access!(inHeader, state));
      const headers = inHeader.serialize().request.headers;
      expect(headers.apikey, key).toBe('REDACTED');
      expect(headers['x-other']).toBe('kept');
      const inQuery = pluginRequest(snapshot, { query: `apikey=${key}&page=2` });
      await run(plugin.access!(inQuery, state));
      const entry = inQuery.serialize();
      expect(entry.request.querystring, key).toEqual({ apikey: 'REDACTED', page: '2' });
      expect(JSON.stringify(entry), key).not.toContain(key);
    }
    const doubled = pluginRequest(snapshot, {
      headers: [
        ['apikey', 'wrong'],
        ['apikey', 'secret'],
      ],
    });
    await run(plugin.access!(doubled, state));
    expect(JSON.stringify(doubled.serialize())).not.toContain('secret');
  });

  it("answers Kong's 500 when the anonymous consumer does not exist", async () => {
    const state = initialise(plugin, snapshot, { anonymous: 'nobody' });
    const ctx = pluginRequest(snapshot);
    await run(plugin.access!(ctx, state));
    expect(outcome(ctx).answer).toMatchObject({
      status: 500,
      json: { message: "anonymous consumer nobody is configured but doesn't exist" },
    });
  });

  it('skips when another plugin already authenticated and anonymous is set', async () => {
    const state = initialise(plugin, snapshot, { anonymous: 'u' });
    const ctx = pluginRequest(snapshot);
    ctx.credential = { id: 'x', type: 'jwt', identifier: null, consumerId: null };
    await run(plugin.access!(ctx, state));
    expect(outcome(ctx).answer).toBeNull();
    expect(ctx.consumer).toBeNull();
  });
});

describe('key-auth config type (inferred from the schema)', () => {
  it("is what init receives, with Kong's fields and nullability", () => {
    expectTypeOf<Parameters<NonNullable<typeof plugin.init>>[0]>().toEqualTypeOf<KeyAuthConfig>();
    expectTypeOf<KeyAuthConfig>().toEqualTypeOf<{
      key_names: string[];
      hide_credentials: boolean;
      anonymous: string | null;
      key_in_header: boolean;
      key_in_query: boolean;
      key_in_body: boolean;
      run_on_preflight: boolean;
      realm: string | null;
    }>();
    // @ts-expect-error -- Kong's field is key_names
    const wrong: KeyAuthConfig['key_name'] = [];
    expect(wrong).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { schema } from '@gatehouse/shared';
import plugin from './plugin.js';
import { initialise, outcome, pluginRequest, snapshotOf, type TestRequest } from '../runtime/test-support.js';

const snapshot = snapshotOf({});

async function run(config: Record<string, unknown>, req: TestRequest = {}) {
  const state = initialise(plugin, snapshot, config);
  const ctx = pluginRequest(snapshot, req);
  await plugin.access!(ctx, state);
  return outcome(ctx);
}

describe('plugin redirect', () => {
  it('answers 301 with the configured location by default (Kong spec)', async () => {
    const o = await run({ location: 'https://example.com' }, { path: '/status/200' });
    expect(o.answer).toMatchObject({
      status: 301,
      text: 'redirecting',
      headers: { location: 'https://example.com' },
    });
  });

  it('answers the configured status and keeps the location path and query as configured', async () => {
    const o = await run(
      { status_code: 302, location: 'https://example.com/path?foo=bar' },
      { path: '/status/200' },
    );
    expect(o.answer).toMatchObject({
      status: 302,
      headers: { location: 'https://example.com/path?foo=bar' },
    });
  });

  it("uses the request's path and query with keep_incoming_path", async () => {
    const o = await run(
      { location: 'https://example.com/some_path?foo=bar', keep_incoming_path: true },
      { path: '/status/200', query: 'keep=this' },
    );
    expect(o.answer!.headers).toMatchObject({ location: 'https://example.com/status/200?keep=this' });
    const noQuery = await run(
      { location: 'https://example.com/some_path?foo=bar#frag', keep_incoming_path: true },
      { path: '/a' },
    );
    expect(noQuery.answer!.headers).toMatchObject({ location: 'https://example.com/a#frag' });
  });

  it.each([
    [{ status_code: 'abc', location: 'https://example.com' }, 'status_code'],
    [{ location: 'https://example.com', status_code: 99 }, 'status_code'],
    [{ location: 'https://example.com', status_code: 600 }, 'status_code'],
    [{}, 'location'],
    [{ location: 'not a url' }, 'location'],
  ])("refuses %j (Kong's schema spec)", (config, field) => {
    const errors = schema.check(plugin.schema, config).errors as Record<string, unknown> | null;
    expect(errors?.[field]).toBeDefined();
  });

  it('never puts CR or LF into Location, whatever the request path', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string(), fc.string(), async (path, query) => {
        const o = await run(
          { location: 'https://example.com/', keep_incoming_path: true },
          { path: `/${path.replace(/[?#]/g, '')}`, query: query.replace(/#/g, '') },
        ).catch(() => null);
        if (o === null) return;
        expect(String(o.answer!.headers.location)).not.toMatch(/[\r\n]/);
      }),
    );
  });
});

import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger, schema } from '@gatehouse/shared';
import plugin from './plugin.js';
import { parseIncrements } from './increments.js';
import { responseRateLimitingSpec } from './schema.js';
import type { PluginRequest } from '../runtime/context.js';
import { initialise, outcome, pluginRequest, snapshotOf } from '../runtime/test-support.js';
import { InProcessPolicy } from '../../ratelimit/local-policy.js';
import { getLocalPolicy, setLocalPolicy } from '../../ratelimit/policies.js';
import type { RateLimitPolicy } from '../../ratelimit/policy.js';

const SNAPSHOT = snapshotOf({});

let saved: RateLimitPolicy;
beforeEach(() => {
  saved = getLocalPolicy();
  setLocalPolicy(new InProcessPolicy());
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(Date.parse('2024-05-10T10:20:30.100Z'));
});
afterEach(() => {
  setLocalPolicy(saved);
  vi.useRealTimers();
});

/** The response view the runtime gives the response phase, with the upstream's headers. */
function upstreamAnswered(ctx: PluginRequest, headers: Record<string, string>): void {
  ctx.setResponse(200, Object.entries(headers).flat(), null);
}

/** One request through access, response (upstream header `limit`) and log. */
async function exchange(state: unknown, limit: string | undefined) {
  const ctx = pluginRequest(SNAPSHOT);
  await plugin.access!(ctx, state as never);
  const afterAccess = outcome(ctx);
  if (afterAccess.answer !== null) return { access: afterAccess, response: null };
  upstreamAnswered(ctx, limit === undefined ? {} : { 'x-kong-limit': limit });
  await plugin.response!(ctx, state as never);
  const response = outcome(ctx);
  await plugin.log!(ctx, state as never);
  return { access: afterAccess, response };
}

describe('response-ratelimiting', () => {
  it('parses X-Kong-Limit as Kong: name=integer pairs for configured limits only', () => {
    const known = new Set(['videos', 'images']);
    expect(parseIncrements(['videos=1, images = 2'], known)).toEqual(
      new Map([
        ['videos', 1],
        ['images', 2],
      ]),
    );
    expect(parseIncrements(['videos=1=2, other=3, images=x, videos'], known)).toEqual(new Map());
    expect(parseIncrements(['videos=1.5,images=-1'], known)).toEqual(new Map([['images', -1]]));
    expect(parseIncrements([], known)).toEqual(new Map());
    // Several header lines: one pair each, as Kong reads a repeated header.
    expect(parseIncrements(['videos=1', 'images=2, videos=3'], known)).toEqual(new Map([['videos', 1]]));
  });

  it('tells the upstream what is left, counts what it says was consumed, then answers 429 without a body', async () => {
    const state = initialise(plugin, SNAPSHOT, {
      limit_by: 'ip',
      limits: { videos: { minute: 2, hour: 10 } },
    });
    const first = await exchange(state, 'videos=1');
    expect(first.access.upstreamHeaders['x-ratelimit-remaining-videos']).toBe('2');
    expect(first.response!.responseHeaders).toMatchObject({
      'x-ratelimit-limit-videos-minute': '2',
      'x-ratelimit-remaining-videos-minute': '1',
      'x-ratelimit-limit-videos-hour': '10',
      'x-ratelimit-remaining-videos-hour': '9',
      'x-kong-limit': null,
    });
    const second = await exchange(state, 'videos=1');
    expect(second.response!.responseHeaders['x-ratelimit-remaining-videos-minute']).toBe('0');
    expect(second.response!.answer).toBeNull();
    const third = await exchange(state, 'videos=1');
    expect(third.access.upstreamHeaders['x-ratelimit-remaining-videos']).toBe('0');
    expect(third.response!.answer).toMatchObject({ status: 429, text: null });
    // Refused: not counted (Kong's stop_log); an answer that consumes nothing passes.
    const free = await exchange(state, undefined);
    expect(free.response!.answer).toBeNull();
    expect(free.access.upstreamHeaders['x-ratelimit-remaining-videos']).toBe('0');
  });

  it('block_on_first_violation refuses in access once a limit is used up', async () => {
    const state = initialise(plugin, SNAPSHOT, {
      block_on_first_violation: true,
      limits: { videos: { minute: 1 }, images: { minute: 10 } },
    });
    await exchange(state, 'videos=1');
    const blocked = await exchange(state, 'images=1');
    expect(blocked.access.answer).toMatchObject({
      status: 429,
      json: { message: "API rate limit exceeded for 'videos'" },
    });
  });

  it('hide_client_headers keeps the limit headers off the response, still removing X-Kong-Limit', async () => {
    const state = initialise(plugin, SNAPSHOT, {
      hide_client_headers: true,
      limits: { videos: { minute: 1 } },
    });
    const first = await exchange(state, 'videos=1');
    expect(first.response!.responseHeaders).toEqual({ 'x-kong-limit': null });
  });

  it('fault_tolerant: a failing store lets the request through (true) or answers 500 (false)', async () => {
    setLocalPolicy({
      name: 'local',
      increment: () => Promise.reject(new Error('down')),
      usage: () => Promise.reject(new Error('down')),
      close: () => Promise.resolve(),
    });
    const tolerant = initialise(plugin, SNAPSHOT, { limits: { videos: { minute: 1 } } });
    expect((await exchange(tolerant, 'videos=1')).response!.answer).toBeNull();
    const strict = initialise(plugin, SNAPSHOT, { fault_tolerant: false, limits: { videos: { minute: 1 } } });
    expect((await exchange(strict, 'videos=1')).access.answer).toMatchObject({ status: 500 });
  });

  it("has Kong's defaults and messages", () => {
    expect(
      schema.validate(responseRateLimitingSpec.schema, { limits: { v: { minute: 1 } } }).value,
    ).toMatchObject({
      header_name: 'x-kong-limit',
      limit_by: 'consumer',
      policy: 'local',
      fault_tolerant: true,
      block_on_first_violation: false,
      hide_client_headers: false,
    });
    const errors = (c: unknown) => schema.check(responseRateLimitingSpec.schema, c).errors;
    expect(errors({})).toMatchObject({ limits: 'required field missing' });
    expect(errors({ limits: { v: {} } })).not.toBeNull();
    expect(errors({ limits: { v: { second: 5, minute: 1 } } })).toMatchObject({
      limits: {
        v: { '@entity': ['the limit for minute(1.0) cannot be lower than the limit for second(5.0)'] },
      },
    });
    expect(errors({ limits: { 'a b\r\n': { minute: 1 } } })).not.toBeNull();
  });

  it('property: hostile configs never throw, never pollute prototypes, and give header-safe names', () => {
    const name = fc.oneof(
      fc.string({ maxLength: 10 }),
      fc.constantFrom('__proto__', 'constructor', 'videos'),
    );
    const limits = fc.dictionary(
      name,
      fc.oneof(fc.anything(), fc.record({ minute: fc.anything(), hour: fc.double() })),
      {
        maxKeys: 4,
      },
    );
    const config = fc.record(
      {
        limits: fc.oneof(limits, fc.anything()),
        header_name: fc.anything(),
        limit_by: fc.anything(),
        policy: fc.anything(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(config, (c) => {
        const result = schema.check(responseRateLimitingSpec.schema, c);
        expect(({} as Record<string, unknown>).minute).toBeUndefined();
        if (result.errors !== null) return;
        const state = plugin.init!(result.value as never, {
          snapshot: SNAPSHOT,
          instance: {
            id: 'x',
            name: 'response-ratelimiting',
            instanceName: null,
            route: null,
            service: null,
            consumer: null,
            consumerGroup: null,
          },
          log: createLogger('t', { level: 'silent' }),
          destination: () => {
            throw new Error('rate limiting sends nowhere else');
          },
          service: () => null,
        }) as unknown as { limits: { name: string }[] };
        for (const l of state.limits) expect(l.name).toMatch(/^[A-Za-z0-9_-]+$/);
      }),
      { numRuns: 2000 },
    );
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { schema } from '@gatehouse/shared';
import plugin from './plugin.js';
import {
  initialise,
  outcome,
  pluginRequest,
  snapshotOf,
  upstreamResponse,
  type TestRequest,
} from '../runtime/test-support.js';

const snapshot = snapshotOf({});

async function run(config: Record<string, unknown>, req: TestRequest = {}) {
  const state = initialise(plugin, snapshot, config);
  const ctx = pluginRequest(snapshot, req);
  await plugin.access!(ctx, state);
  upstreamResponse(ctx, 200);
  await plugin.response!(ctx, state);
  return outcome(ctx);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('plugin correlation-id', () => {
  it("defaults to Kong-Request-ID, uuid#counter and no echo (Kong's schema)", () => {
    expect(schema.validate(plugin.schema, {}).value).toEqual({
      header_name: 'Kong-Request-ID',
      generator: 'uuid#counter',
      echo_downstream: false,
    });
    expect(schema.check(plugin.schema, { generator: 'random' }).errors).not.toBeNull();
    expect(schema.check(plugin.schema, { header_name: 'bad name' }).errors).not.toBeNull();
  });

  it('sends a uuid#counter id upstream that counts per worker', async () => {
    const a = (await run({})).upstreamHeaders['kong-request-id'] as string;
    const b = (await run({})).upstreamHeaders['kong-request-id'] as string;
    const [ua, na] = a.split('#') as [string, string];
    const [ub, nb] = b.split('#') as [string, string];
    expect(ua).toMatch(UUID);
    expect(ub).toBe(ua);
    expect(Number(nb)).toBe(Number(na) + 1);
  });

  it('generates a fresh uuid per request with the uuid generator', async () => {
    const a = (await run({ generator: 'uuid' })).upstreamHeaders['kong-request-id'];
    const b = (await run({ generator: 'uuid' })).upstreamHeaders['kong-request-id'];
    expect(a).toMatch(UUID);
    expect(b).not.toBe(a);
  });

  it('generates a tracker id host-port-pid-n-seconds', async () => {
    const id = (await run({ generator: 'tracker' })).upstreamHeaders['kong-request-id'] as string;
    expect(id).toMatch(new RegExp(`^.+-\\d+-${process.pid}-\\d+-\\d+\\.\\d{3}$`));
  });

  it("keeps the client's id and echoes it downstream with echo_downstream", async () => {
    const o = await run(
      { header_name: 'X-Request-ID', echo_downstream: true },
      { headers: [['x-request-id', 'client-id']] },
    );
    expect(o.upstreamHeaders).toEqual({});
    expect(o.responseHeaders).toEqual({ 'x-request-id': 'client-id' });
  });

  it('echoes the generated id, and replaces an empty client id', async () => {
    const o = await run({ echo_downstream: true, generator: 'uuid' }, { headers: [['kong-request-id', '']] });
    expect(o.upstreamHeaders['kong-request-id']).toMatch(UUID);
    expect(o.responseHeaders['kong-request-id']).toBe(o.upstreamHeaders['kong-request-id']);
  });

  it('does not echo without echo_downstream', async () => {
    expect((await run({})).responseHeaders).toEqual({});
  });

  it('checks hostile configs without throwing', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.boolean(), fc.constant(null))),
        (config) => {
          const r = schema.check(plugin.schema, config);
          expect(r.errors === null || typeof r.errors === 'object').toBe(true);
        },
      ),
    );
  });
});

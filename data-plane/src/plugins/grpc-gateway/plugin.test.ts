import fc from 'fast-check';
import { create, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema, file_google_protobuf_timestamp } from '@bufbuild/protobuf/wkt';
import { describe, expect, it } from 'vitest';
import { schema } from '@gatehouse/shared';
import plugin from './plugin.js';
import { grpcGatewaySpec } from './schema.js';
import { frame } from './transcode.js';
import { BookSchema, bookstoreDescriptorSet } from './test-descriptor.js';
import {
  initialise,
  outcome,
  pluginRequest,
  run,
  snapshotOf,
  type TestRequest,
} from '../runtime/test-support.js';

const snapshot = snapshotOf({});
const descriptor_set = bookstoreDescriptorSet();
const errorsOf = (config: Record<string, unknown>) => schema.check(grpcGatewaySpec.schema, config).errors;

describe('grpc-gateway config', () => {
  it('accepts a descriptor set with annotated rpcs and fills Kong-like JSON defaults', () => {
    const r = schema.check(grpcGatewaySpec.schema, { descriptor_set });
    expect(r.errors).toBeNull();
    expect(r.value).toMatchObject({
      services: [],
      use_proto_names: true,
      emit_defaults: true,
      enum_as_name: true,
    });
  });

  it('refuses what is wrong with a field message naming it', () => {
    expect(errorsOf({})).toEqual({ descriptor_set: 'required field missing' });
    expect(errorsOf({ descriptor_set: 'not base64!' })).toEqual({
      descriptor_set: 'descriptor_set is not base64',
    });
    expect(errorsOf({ descriptor_set: Buffer.from('garbage bytes').toString('base64') })).toEqual({
      descriptor_set: expect.stringMatching(/^descriptor_set is not a valid FileDescriptorSet/),
    });
    expect(errorsOf({ descriptor_set, services: ['nope.Svc'] })).toEqual({
      services: "unknown service 'nope.Svc' (the descriptor set has: gatehouse.testing.Bookstore)",
    });
    expect(errorsOf({ proto: './api.proto' })).toEqual({
      proto: expect.stringMatching(/^a \.proto file path cannot be read by data planes: set descriptor_set/),
    });
  });

  it('refuses a descriptor set with no rpc that has an http rule', () => {
    // Only google/protobuf/timestamp.proto: a valid set with no service at all.
    const bare = Buffer.from(
      toBinary(
        FileDescriptorSetSchema,
        create(FileDescriptorSetSchema, { file: [file_google_protobuf_timestamp.proto] }),
      ),
    ).toString('base64');
    expect(errorsOf({ descriptor_set: bare })).toEqual({
      descriptor_set: 'no rpc of the descriptor set has a google.api.http annotation',
    });
  });

  it('validates any config to a value or field errors (never a throw); a valid one initialises', () => {
    const keys = [...Object.keys(grpcGatewaySpec.schema.fields), '__proto__'];
    const value = fc.oneof(
      fc.anything(),
      fc.constant(descriptor_set),
      fc.constant(descriptor_set.slice(0, 200)),
      fc.base64String({ maxLength: 400 }),
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('base64')),
      fc.constant(['gatehouse.testing.Bookstore']),
      fc.array(fc.string(), { maxLength: 3 }),
    );
    let valid = 0;
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...keys), value, { maxKeys: 5 }), (config) => {
        const input = JSON.parse(JSON.stringify(config)) as Record<string, unknown>;
        const r = schema.check(grpcGatewaySpec.schema, input);
        if (r.errors !== null) expect(Object.keys(r.errors).length).toBeGreaterThan(0);
        else {
          valid++;
          expect(() => initialise(plugin, snapshot, input)).not.toThrow();
        }
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: 300, examples: [[{ descriptor_set }]] },
    );
    expect(valid).toBeGreaterThan(0);
  });
});

describe('grpc-gateway handlers', () => {
  const state = initialise(plugin, snapshot, { descriptor_set });
  const access = async (r: TestRequest) => {
    const ctx = pluginRequest(snapshot, r);
    await run(plugin.access!(ctx, state));
    return ctx;
  };

  it('rewrites a REST request into the gRPC call', async () => {
    const ctx = await access({
      method: 'POST',
      path: '/v1/echo',
      query: 'x=1',
      headers: [['content-type', 'application/json']],
      body: '{"title":"Emma"}',
    });
    const o = outcome(ctx);
    expect(o.answer).toBeNull();
    expect(o.upstreamMethod).toBe('POST');
    expect(o.upstreamPath).toBe('/gatehouse.testing.Bookstore/Echo');
    expect(o.upstreamQuery).toBe('');
    expect(o.upstreamHeaders).toMatchObject({ 'content-type': 'application/grpc', te: 'trailers' });
    expect(ctx.upstreamBody).toEqual(frame(toBinary(BookSchema, create(BookSchema, { title: 'Emma' }))));
  });

  it("answers Kong's 400 for a request no binding takes, and lets a gRPC request through", async () => {
    const o = outcome(await access({ method: 'GET', path: '/v1/nowhere' }));
    expect(o.answer).toMatchObject({
      status: 400,
      json: { message: 'failed to transcode .proto file Unknown path "/v1/nowhere"' },
    });
    const grpc = outcome(
      await access({ method: 'POST', path: '/x.Y/Z', headers: [['content-type', 'application/grpc']] }),
    );
    expect(grpc.answer).toBeNull();
    expect(grpc.upstreamPath).toBeNull();
  });

  it("maps the upstream's grpc-status to Kong's HTTP status with a JSON body", async () => {
    const ctx = await access({ method: 'DELETE', path: '/v1/fail/5' });
    ctx.setResponse(200, ['content-type', 'application/grpc'], Buffer.alloc(0), [
      'grpc-status',
      '5',
      'grpc-message',
      'no%20such%20book',
    ]);
    await run(plugin.response!(ctx, state));
    expect(outcome(ctx).answer).toMatchObject({
      status: 404,
      headers: { 'grpc-status': '5' },
      json: { code: 5, message: 'no such book' },
    });
  });

  it('transcodes a successful answer to JSON and leaves a gateway error alone', async () => {
    const ctx = await access({ method: 'GET', path: '/v1/shelves/1/books/2' });
    const body = frame(toBinary(BookSchema, create(BookSchema, { title: 'Emma', inPrint: true })));
    ctx.setResponse(200, ['content-type', 'application/grpc'], body, ['grpc-status', '0']);
    await run(plugin.response!(ctx, state));
    const a = outcome(ctx).answer!;
    expect(a.status).toBe(200);
    expect(a.headers['content-type']).toBe('application/json');
    expect(JSON.parse(a.text!)).toMatchObject({ title: 'Emma', in_print: true, pages: '0' });

    const down = await access({ method: 'GET', path: '/v1/shelves/1/books/2' });
    down.setResponse(502, ['content-type', 'application/json'], null);
    await run(plugin.response!(down, state));
    expect(outcome(down).answer).toBeNull();
  });
});

describe('grpc-gateway handlers over hostile requests', () => {
  const state = initialise(plugin, snapshot, { descriptor_set });
  const segment = fc.oneof(
    fc.string({ maxLength: 6 }).map(encodeURIComponent),
    fc.constantFrom(
      'shelves',
      'books',
      'echo',
      'fail',
      '..',
      '%2e%2e',
      '%00',
      '-5',
      '1e9',
      '18446744073709551616',
    ),
  );
  const body = fc.oneof(
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.string({ maxLength: 30 }),
    fc.constantFrom(
      '{"__proto__":{"polluted":true}}',
      '{"constructor":{"prototype":{"polluted":1}}}',
      '{"pages":1e400}',
    ),
  );

  it('rewrites a request into a gRPC call or answers a 400, never anything else', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'SEARCH'),
        fc.array(segment, { maxLength: 5 }),
        fc.string({ maxLength: 30 }),
        body,
        async (method, segs, query, text) => {
          const request: TestRequest = {
            method,
            path: `/v1/${segs.join('/')}`,
            query: encodeURI(query).replaceAll('#', '%23'),
            headers: [['content-type', 'application/json']],
            body: text,
          };
          let ctx: ReturnType<typeof pluginRequest>;
          try {
            ctx = pluginRequest(snapshot, request);
          } catch (err) {
            // The proxy refuses this path before any plugin runs (its path policy).
            if (!(err as Error).message.includes("proxy's path policy")) throw err;
            return;
          }
          await run(plugin.access!(ctx, state));
          const o = outcome(ctx);
          if (o.answer !== null) {
            expect(o.answer.status).toBe(400);
            expect(typeof (o.answer.json as { message: unknown }).message).toBe('string');
          } else expect(o.upstreamPath).toMatch(/^\/gatehouse\.testing\.Bookstore\/[A-Za-z]+$/);
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        },
      ),
      { numRuns: 400 },
    );
  });
});

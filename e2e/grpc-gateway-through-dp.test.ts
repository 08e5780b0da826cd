/**
 * grpc-gateway through a real CP and DP (issue 16): a @grpc/grpc-js server implementing the
 * plugin's bookstore test service behind a `grpc://` service; an `http` route with key-auth in
 * front of grpc-gateway, whose descriptor set goes through the Admin API and the snapshot (the DP
 * reads no file). REST clients: GET with path and query parameters, POST with body "*" and body
 * "field", server streaming, an upstream error status mapped to HTTP, a grpc-timeout deadline,
 * Kong's 401 without a key and 400 for a request no binding takes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { create, fromBinary, toBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import {
  BookSchema,
  bookstoreDescriptorSet,
  CreateBookRequestSchema,
  FailRequestSchema,
  GetBookRequestSchema,
  SlowRequestSchema,
} from '../data-plane/src/plugins/grpc-gateway/test-descriptor.js';
import {
  adminCreate,
  adminJson,
  startCp,
  startDp,
  tempDir,
  waitUntil,
  type CpHandle,
  type DpHandle,
} from './helpers/processes.js';
import { listenGrpc } from '../test/helpers/grpc-server.js';

type Book = MessageShape<typeof BookSchema>;

function method<I extends DescMessage>(name: string, input: I, responseStream = false) {
  return {
    path: `/gatehouse.testing.Bookstore/${name}`,
    requestStream: false,
    responseStream,
    requestSerialize: (m: MessageShape<I>) => Buffer.from(toBinary(input, m)),
    requestDeserialize: (b: Buffer) => fromBinary(input, b),
    responseSerialize: (m: Book) => Buffer.from(toBinary(BookSchema, m)),
    responseDeserialize: (b: Buffer) => fromBinary(BookSchema, b),
  };
}
const bookstore = {
  GetBook: method('GetBook', GetBookRequestSchema),
  CreateBook: method('CreateBook', CreateBookRequestSchema),
  Echo: method('Echo', BookSchema),
  Fail: method('Fail', FailRequestSchema),
  Slow: method('Slow', SlowRequestSchema),
  ListBooks: method('ListBooks', GetBookRequestSchema, true),
} satisfies grpc.ServiceDefinition;

type Unary<I extends DescMessage> = grpc.handleUnaryCall<MessageShape<I>, Book>;

describe('grpc-gateway through a real CP and DP, key-auth in front', () => {
  let cp: CpHandle;
  let dp: DpHandle;
  let server: grpc.Server;
  let proxy: string;
  let client: grpc.Client | undefined;

  const call = async (
    method: string,
    path: string,
    init: { body?: string; headers?: Record<string, string>; key?: boolean } = {},
  ) => {
    const r = await fetch(`${proxy}${path}`, {
      method,
      headers: {
        ...(init.key === false ? {} : { apikey: 'alice-key' }),
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...init.headers,
      },
      body: init.body,
      signal: AbortSignal.timeout(15_000),
    });
    const text = await r.text();
    return {
      status: r.status,
      headers: r.headers,
      text,
      json: () => JSON.parse(text) as Record<string, unknown>,
    };
  };

  beforeAll(async () => {
    server = new grpc.Server();
    const getBook: Unary<typeof GetBookRequestSchema> = (c, cb) => {
      const r = c.request;
      const who = String(c.metadata.get('x-consumer-username')[0] ?? 'nobody');
      cb(
        null,
        create(BookSchema, {
          title: `book ${r.book}`,
          name: r.name,
          pages: r.shelf,
          tags: [...(r.filter?.tags ?? []), ...r.ids.map(String)],
          inPrint: r.verbose,
          author: { name: who },
        }),
      );
    };
    const createBook: Unary<typeof CreateBookRequestSchema> = (c, cb) =>
      cb(null, { ...(c.request.book ?? create(BookSchema)), name: `shelves/${c.request.shelf}/books/1` });
    const echo: Unary<typeof BookSchema> = (c, cb) => cb(null, c.request);
    const fail: Unary<typeof FailRequestSchema> = (c, cb) =>
      cb({ code: c.request.code, details: c.request.detail || 'failed on purpose' }, null);
    const slow: Unary<typeof SlowRequestSchema> = (c, cb) => {
      setTimeout(() => cb(null, create(BookSchema, { title: 'late' })), c.request.delayMs).unref();
    };
    server.addService(bookstore, {
      GetBook: getBook,
      CreateBook: createBook,
      Echo: echo,
      Fail: fail,
      Slow: slow,
      ListBooks(c: grpc.ServerWritableStream<MessageShape<typeof GetBookRequestSchema>, Book>) {
        for (const tag of c.request.filter?.tags ?? []) c.write(create(BookSchema, { title: tag }));
        c.end();
      },
    });
    const port = await listenGrpc(server);

    cp = await startCp({ dataDir: tempDir('grpc-gateway-cp') });
    const ok = (path: string, body: unknown): Promise<void> => adminCreate(cp.admin, path, body);
    await ok('/services', { name: 'bookstore', url: `grpc://127.0.0.1:${port}` });
    await ok('/services/bookstore/routes', { name: 'rest', protocols: ['http'], paths: ['/v1/'] });
    await ok('/services/bookstore/routes', {
      name: 'native',
      protocols: ['grpc'],
      paths: ['/gatehouse.testing.Bookstore/'],
    });
    // On the service: the REST route is transcoded, the gRPC route's calls pass through.
    await ok('/services/bookstore/plugins', { name: 'key-auth', config: {} });
    await ok('/services/bookstore/plugins', {
      name: 'grpc-gateway',
      config: { descriptor_set: bookstoreDescriptorSet() },
    });
    await ok('/consumers', { username: 'alice' });
    await ok('/consumers/alice/key-auth', { key: 'alice-key' });

    dp = await startDp({
      cluster: `127.0.0.1:${cp.clusterPort}`,
      publicKeys: cp.publicKeys,
      tls: cp.dpTlsArgs,
      dataDir: tempDir('grpc-gateway-dp'),
      workers: 1,
    });
    proxy = `http://127.0.0.1:${dp.proxyPort}`;
    await waitUntil(
      'the REST route is served',
      async () => (await call('GET', '/v1/shelves/1/books/x')).status === 200,
      60_000,
    );
  }, 150_000);

  afterAll(async () => {
    client?.close();
    await dp?.proc.stop();
    await cp?.proc.stop();
    server?.forceShutdown();
  });

  it("leaves a native gRPC client's call on the service's gRPC route untouched", async () => {
    const Ctor = grpc.makeGenericClientConstructor(bookstore, 'Bookstore');
    client = new Ctor(`127.0.0.1:${dp.proxyPort}`, grpc.credentials.createInsecure());
    const md = new grpc.Metadata();
    md.set('apikey', 'alice-key');
    const book = await new Promise<Book>((resolve, reject) =>
      (client as unknown as Record<string, (...a: unknown[]) => void>).GetBook!(
        create(GetBookRequestSchema, { book: 'native', shelf: 4n }),
        md,
        (err: grpc.ServiceError | null, value: Book) => (err ? reject(err) : resolve(value)),
      ),
    );
    expect(book).toMatchObject({ title: 'book native', pages: 4n, author: { name: 'alice' } });
  });

  it("answers Kong's 401 without a key, before any transcoding", async () => {
    const r = await call('GET', '/v1/shelves/1/books/x', { key: false });
    expect(r.status).toBe(401);
    expect(r.json()).toEqual({ message: 'No API key found in request' });
  });

  it('transcodes GET with path and query parameters, the consumer passed as metadata', async () => {
    const r = await call(
      'GET',
      '/v1/shelves/42/books/moby%20dick?filter.tags=sea&filter.tags=whale&ids=7&verbose=true&ignored=1',
    );
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.json()).toEqual({
      title: 'book moby dick',
      author: { name: 'alice', born: 0 },
      pages: '42',
      tags: ['sea', 'whale', '7'],
      format: 'FORMAT_UNSPECIFIED',
      in_print: true,
      name: '',
    });
    const named = await call('GET', '/v1/shelves/3/books/9:x');
    expect(named.json()).toMatchObject({ title: 'book 9:x', pages: '3' });
  });

  it('transcodes POST with body "*" and with body "field"', async () => {
    const echo = await call('POST', '/v1/echo', {
      body: JSON.stringify({
        title: 'Emma',
        inPrint: true,
        pages: 474,
        published: '1815-12-23T00:00:00Z',
        format: 'FORMAT_PAPER',
      }),
    });
    expect(echo.status).toBe(200);
    expect(echo.json()).toMatchObject({
      title: 'Emma',
      in_print: true,
      pages: '474',
      published: '1815-12-23T00:00:00Z',
      format: 'FORMAT_PAPER',
    });
    const created = await call('POST', '/v1/shelves/5/books', {
      body: JSON.stringify({ title: 'Dune', tags: ['sf'] }),
    });
    expect(created.status).toBe(200);
    expect(created.json()).toMatchObject({ title: 'Dune', tags: ['sf'], name: 'shelves/5/books/1' });
  });

  it("streams a server-streaming rpc's messages one JSON document per line", async () => {
    const r = await call('GET', '/v1/shelves/1/books?filter.tags=a&filter.tags=b');
    expect(r.status).toBe(200);
    expect(r.text.split('\n').map((l) => (JSON.parse(l) as { title: string }).title)).toEqual(['a', 'b']);
  });

  it("maps the upstream's gRPC status to Kong's HTTP status with a JSON body", async () => {
    const notFound = await call('DELETE', '/v1/fail/5?detail=no%20such%20book');
    expect(notFound.status).toBe(404);
    expect(notFound.headers.get('grpc-status')).toBe('5');
    expect(notFound.json()).toEqual({ code: 5, message: 'no such book' });
    const precondition = await call('DELETE', '/v1/fail/9');
    expect(precondition.status).toBe(400);
    expect(precondition.json()).toEqual({ code: 9, message: 'failed on purpose' });
  });

  it("answers 504 when the client's grpc-timeout deadline passes first", async () => {
    const late = await call('SEARCH', '/v1/slow?delay_ms=3000', { headers: { 'grpc-timeout': '200m' } });
    expect(late.status).toBe(504);
    const inTime = await call('SEARCH', '/v1/slow?delay_ms=10', { headers: { 'grpc-timeout': '10S' } });
    expect(inTime.status).toBe(200);
    expect(inTime.json()).toMatchObject({ title: 'late' });
  });

  it("answers Kong's 400 for bad JSON, wrong types and a request no binding takes", async () => {
    const unknown = await call('GET', '/v1/nowhere');
    expect(unknown.status).toBe(400);
    expect(unknown.json()).toEqual({ message: 'failed to transcode .proto file Unknown path "/v1/nowhere"' });
    const bad = await call('POST', '/v1/echo', { body: '{"title":' });
    expect(bad.status).toBe(400);
    expect(bad.json().message).toMatch(/^decode json err: /);
    const typed = await call('POST', '/v1/echo', { body: '{"pages":"99999999999999999999"}' });
    expect(typed.status).toBe(400);
    expect(typed.json().message).toMatch(/^failed to encode payload: /);
  });

  it('refuses a bad descriptor set at the Admin API with a 400 naming the field', async () => {
    const r = await adminJson(cp.admin, 'POST', '/routes/rest/plugins', {
      name: 'grpc-gateway',
      config: { descriptor_set: Buffer.from('not a descriptor').toString('base64') },
    });
    expect(r.status).toBe(400);
    expect(r.json.fields.config.descriptor_set).toMatch(/^descriptor_set is not a valid FileDescriptorSet/);
  });
});

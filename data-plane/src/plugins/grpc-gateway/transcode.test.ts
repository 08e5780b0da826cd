import fc from 'fast-check';
import { create, fromBinary, setExtension, toBinary, toJson } from '@bufbuild/protobuf';
import {
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  timestampFromDate,
} from '@bufbuild/protobuf/wkt';
import { http } from './proto/gen/google/api/annotations_pb.js';
import { HttpRuleSchema } from './proto/gen/google/api/http_pb.js';
import { describe, expect, it } from 'vitest';
import { compileDescriptor, type CompiledDescriptor } from './descriptor.js';
import {
  BookSchema,
  bookstoreDescriptorSet,
  CreateBookRequestSchema,
  Format,
  GetBookRequestSchema,
} from './test-descriptor.js';
import {
  buildRequest,
  findBinding,
  frame,
  responseJson,
  TranscodeError,
  UpstreamMessageError,
  type Match,
} from './transcode.js';

const compiled = compileDescriptor(bookstoreDescriptorSet(), []) as CompiledDescriptor;
const find = (method: string, path: string): Match => {
  const m = findBinding(compiled, method, path);
  if (typeof m === 'string') throw new Error(m);
  return m;
};
const send = (method: string, path: string, query = '', body: string | null = null) => {
  const m = find(method, path);
  const framed = buildRequest(
    m,
    new URLSearchParams(query),
    body === null ? null : Buffer.from(body),
    compiled.registry,
  );
  expect(framed[0]).toBe(0);
  expect(framed.readUInt32BE(1)).toBe(framed.length - 5);
  return { rpc: m.binding.rpc.path, bytes: framed.subarray(5) };
};
const refusal = (method: string, path: string, query = '', body: string | null = null): string => {
  try {
    send(method, path, query, body);
  } catch (err) {
    expect(err).toBeInstanceOf(TranscodeError);
    return (err as Error).message;
  }
  throw new Error('not refused');
};

describe('grpc-gateway bindings', () => {
  it('GET binds path variables and maps query parameters onto the other fields (nested, repeated)', () => {
    const { rpc, bytes } = send(
      'GET',
      '/v1/shelves/12/books/moby%20dick',
      'filter.author=Melville&filter.tags=sea&filter.tags=whale&ids=1&ids=2&verbose=true&format=FORMAT_EBOOK&shelf=99&unknown=1',
    );
    expect(rpc).toBe('/gatehouse.testing.Bookstore/GetBook');
    const req = fromBinary(GetBookRequestSchema, bytes);
    // The path variable wins over a query parameter of the same field.
    expect(req.shelf).toBe(12n);
    expect(req.book).toBe('moby dick');
    expect(req.filter).toMatchObject({ author: 'Melville', tags: ['sea', 'whale'] });
    expect(req.ids).toEqual([1, 2]);
    expect(req.verbose).toBe(true);
    expect(req.format).toBe(Format.EBOOK);
  });

  it('takes an additional binding with a `{name=shelves/*/books/*}` variable', () => {
    const { rpc, bytes } = send('GET', '/v1/shelves/3/books/7');
    expect(rpc).toBe('/gatehouse.testing.Bookstore/GetBook');
    expect(fromBinary(GetBookRequestSchema, bytes)).toMatchObject({ shelf: 3n, book: '7' });
    const other = send('GET', '/v1/shelves/3/books/7/title');
    expect(other.rpc).toBe('/gatehouse.testing.Bookstore/GetTitle');
  });

  it('reads booleans and enums from query strings as Kong does (0/false, 1/true; names or numbers)', () => {
    const get = (q: string) =>
      fromBinary(GetBookRequestSchema, send('GET', '/v1/shelves/1/books/b', q).bytes);
    expect(get('verbose=1').verbose).toBe(true);
    expect(get('verbose=0').verbose).toBe(false);
    expect(get('verbose=false').verbose).toBe(false);
    expect(get('format=1').format).toBe(Format.PAPER);
    expect(refusal('GET', '/v1/shelves/1/books/b', 'verbose=maybe')).toBe(
      "query parameter 'verbose': 'maybe' is not a boolean",
    );
  });

  it('POST with body "field" puts the JSON body in that field, the path in others', () => {
    const { rpc, bytes } = send(
      'POST',
      '/v1/shelves/5/books',
      '',
      '{"title":"Dune","pages":"412","inPrint":true}',
    );
    expect(rpc).toBe('/gatehouse.testing.Bookstore/CreateBook');
    const req = fromBinary(CreateBookRequestSchema, bytes);
    expect(req.shelf).toBe(5n);
    expect(req.book).toMatchObject({ title: 'Dune', pages: 412n, inPrint: true });
  });

  it('POST with body "*" reads every field from the body, original and lowerCamel names alike', () => {
    const { bytes } = send(
      'POST',
      '/v1/echo',
      'title=ignored',
      '{"title":"Emma","in_print":true,"author":{"name":"Austen"},"format":"FORMAT_PAPER","published":"1815-12-23T00:00:00Z","tags":["a","b"]}',
    );
    const book = fromBinary(BookSchema, bytes);
    expect(book).toMatchObject({ title: 'Emma', inPrint: true, format: Format.PAPER, tags: ['a', 'b'] });
    expect(book.author?.name).toBe('Austen');
    expect(book.published?.seconds).toBe(BigInt(Date.UTC(1815, 11, 23) / 1000));
  });

  it("PATCH merges a nested path variable into the body's message", () => {
    const book = fromBinary(
      BookSchema,
      send('PATCH', '/v1/echo/Woolf', '', '{"author":{"born":1882}}').bytes,
    );
    expect(book.author).toMatchObject({ name: 'Woolf', born: 1882 });
  });

  it("answers Kong's messages for a request no binding takes", () => {
    expect(findBinding(compiled, 'PUT', '/v1/echo')).toBe(
      'failed to transcode .proto file Unknown method "put"',
    );
    expect(findBinding(compiled, 'GET', '/v1/nothing')).toBe(
      'failed to transcode .proto file Unknown path "/v1/nothing"',
    );
  });

  it('refuses bad JSON, wrong types and out-of-range numbers with a 400 message naming the problem', () => {
    expect(refusal('POST', '/v1/echo', '', '{"title":')).toMatch(/^decode json err: /);
    expect(refusal('POST', '/v1/echo', '', '[1]')).toBe('body must be a JSON object');
    expect(refusal('POST', '/v1/echo', '', '{"title":1}')).toMatch(/^failed to encode payload: .*title/);
    expect(refusal('POST', '/v1/echo', '', '{"pages":"99999999999999999999"}')).toMatch(
      /^failed to encode payload: .*pages/,
    );
    expect(refusal('POST', '/v1/echo', '', '{"pages":1e300}')).toMatch(/^failed to encode payload/);
    expect(refusal('GET', '/v1/shelves/x/books/b')).toMatch(/^failed to encode payload: .*shelf/);
    expect(refusal('GET', '/v1/shelves/1/books/b', 'filter=x')).toBe(
      "query parameter 'filter' names a message or map field, not a value",
    );
  });
});

describe('grpc-gateway responses', () => {
  const book = create(BookSchema, {
    title: 'Emma',
    pages: 474n,
    format: Format.PAPER,
    published: timestampFromDate(new Date(Date.UTC(1815, 11, 23))),
  });
  const getBook = find('GET', '/v1/shelves/1/books/1').binding;
  const framed = frame(toBinary(BookSchema, book));

  it("answers Kong's JSON (proto names, defaults emitted, enum names) or the configured mapping", () => {
    const kong = JSON.parse(
      responseJson(getBook, framed, { useProtoFieldName: true, alwaysEmitImplicit: true }),
    );
    expect(kong).toEqual({
      title: 'Emma',
      pages: '474',
      tags: [],
      format: 'FORMAT_PAPER',
      published: '1815-12-23T00:00:00Z',
      in_print: false,
      name: '',
    });
    const camel = JSON.parse(responseJson(getBook, framed, { enumAsInteger: true }));
    expect(camel).toEqual({ title: 'Emma', pages: '474', format: 1, published: '1815-12-23T00:00:00Z' });
  });

  it('sends only the response_body field when the binding names one', () => {
    const title = find('GET', '/v1/shelves/1/books/1/title').binding;
    expect(responseJson(title, framed, {})).toBe('"Emma"');
  });

  it("writes a server stream's messages one JSON document per line", () => {
    const list = find('GET', '/v1/shelves/1/books').binding;
    const body = Buffer.concat([framed, frame(toBinary(BookSchema, create(BookSchema, { title: 'B' })))]);
    expect(
      responseJson(list, body, {})
        .split('\n')
        .map((l) => (JSON.parse(l) as { title: string }).title),
    ).toEqual(['Emma', 'B']);
  });

  it('refuses truncated, compressed or foreign answers as upstream errors', () => {
    expect(() => responseJson(getBook, framed.subarray(0, 7), {})).toThrow(UpstreamMessageError);
    const compressed = Buffer.from(framed);
    compressed[0] = 1;
    expect(() => responseJson(getBook, compressed, {})).toThrow(UpstreamMessageError);
    expect(() => responseJson(getBook, Buffer.concat([framed, framed]), {})).toThrow(UpstreamMessageError);
    expect(() => responseJson(getBook, frame(Buffer.from([0xff, 0xff, 0xff])), {})).toThrow(
      UpstreamMessageError,
    );
  });
});

describe('grpc-gateway over hostile requests', () => {
  const json = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.jsonValue(),
      fc.dictionary(
        fc.constantFrom(
          '__proto__',
          'constructor',
          'title',
          'pages',
          'author',
          'tags',
          'in_print',
          'published',
          'born',
          'name',
        ),
        tie('value'),
        { maxKeys: 5 },
      ),
      fc.array(tie('value'), { maxLength: 3 }),
    ),
  })).value;
  const segment = fc.oneof(
    fc.string({ maxLength: 8 }).map(encodeURIComponent),
    fc.constantFrom(
      '..',
      '.',
      '%2E%2E',
      '%2F',
      '%00',
      '%',
      '%zz',
      '99999999999999999999999',
      '-1',
      'shelves',
    ),
  );
  const queryKey = fc.constantFrom(
    'shelf',
    'book',
    'filter',
    'filter.tags',
    'filter.author.x',
    'ids',
    'verbose',
    'format',
    '__proto__',
    'a.'.repeat(40),
  );

  it('answers every request a binding, a Kong 400 message or a TranscodeError, never anything else', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE', 'SEARCH', 'PUT', 'HEAD'),
        fc.array(segment, { maxLength: 6 }),
        fc.array(fc.tuple(queryKey, fc.oneof(segment, fc.string({ maxLength: 6 }))), { maxLength: 6 }),
        fc.oneof(
          json.map((v) => JSON.stringify(v)),
          fc.string({ maxLength: 20 }),
        ),
        (method, segs, query, body) => {
          const path = `/v1/${segs.join('/')}`;
          const m = findBinding(compiled, method, path);
          if (typeof m === 'string') {
            expect(m).toMatch(/^failed to transcode \.proto file Unknown (method|path) /);
            return;
          }
          try {
            const framed = buildRequest(m, new URLSearchParams(query), Buffer.from(body), compiled.registry);
            fromBinary(m.binding.rpc.input, framed.subarray(5));
          } catch (err) {
            expect(err).toBeInstanceOf(TranscodeError);
          }
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        },
      ),
      { numRuns: 1500, examples: [['POST', ['echo'], [], '{"title":"x"}']] },
    );
  });

  it('refuses JSON nested past what the stack holds with a 400, whatever its depth', () => {
    fc.assert(
      fc.property(fc.integer({ min: 10, max: 50_000 }), (depth) => {
        const text = `{"title":"x","author":${'{"name":'.repeat(depth)}"y"${'}'.repeat(depth)}}`;
        try {
          send('POST', '/v1/echo', '', text);
        } catch (err) {
          expect(err).toBeInstanceOf(TranscodeError);
        }
      }),
      { numRuns: 20 },
    );
  });
});

describe('grpc-gateway with a descriptor whose fields are named like prototype keys', () => {
  const HOSTILE_PROTO = create(FileDescriptorProtoSchema, {
    name: 'hostile.proto',
    package: 'hostile',
    syntax: 'proto3',
    messageType: [
      {
        name: 'M',
        field: [
          { name: '__proto__', number: 1, type: FieldDescriptorProto_Type.STRING, jsonName: '__proto__' },
          {
            name: 'constructor',
            number: 2,
            type: FieldDescriptorProto_Type.MESSAGE,
            typeName: '.hostile.M',
            jsonName: 'constructor',
          },
        ],
      },
    ],
    service: [
      {
        name: 'S',
        method: [{ name: 'Get', inputType: '.hostile.M', outputType: '.hostile.M', options: {} }],
      },
    ],
  });
  const options = HOSTILE_PROTO.service[0]!.method[0]!.options!;
  setExtension(
    options,
    http,
    create(HttpRuleSchema, {
      pattern: { case: 'get', value: '/x/{constructor.__proto__}' },
      responseBody: '__proto__',
    }),
  );
  const set = create(FileDescriptorSetSchema, { file: [HOSTILE_PROTO] });
  const hostile = compileDescriptor(
    Buffer.from(toBinary(FileDescriptorSetSchema, set)).toString('base64'),
    [],
  );

  it('keeps `__proto__` and `constructor` fields as data, in requests and replies', () => {
    if (typeof hostile === 'string') throw new Error(hostile);
    const m = findBinding(hostile, 'GET', '/x/polluted');
    if (typeof m === 'string') throw new Error(m);
    const framed = buildRequest(
      m,
      new URLSearchParams('__proto__=q&constructor.__proto__=nope'),
      null,
      hostile.registry,
    );
    const input = m.binding.rpc.input;
    const json = toJson(input, fromBinary(input, framed.subarray(5)));
    // Parsed, so `__proto__` is an own key of the expected value too.
    expect(json).toEqual(JSON.parse('{"__proto__":"q","constructor":{"__proto__":"polluted"}}'));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(responseJson(m.binding, framed, {})).toBe('"q"');
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { schema } from '@gatehouse/shared';
import plugin, { TRANSFORM_BODY_LIMIT } from './plugin.js';
import { compileTemplate } from './template.js';
import { initialise, outcome, pluginRequest, snapshotOf, type TestRequest } from '../runtime/test-support.js';

const snapshot = snapshotOf({});

async function run(config: Record<string, unknown>, req: TestRequest = {}) {
  const state = initialise(plugin, snapshot, config);
  const ctx = pluginRequest(snapshot, req);
  await plugin.access!(ctx, state);
  return outcome(ctx);
}

const errorsOf = (config: unknown) => schema.check(plugin.schema, config).errors;
const JSON_TYPE: [string, string] = ['content-type', 'application/json'];
const FORM_TYPE: [string, string] = ['content-type', 'application/x-www-form-urlencoded'];

describe('plugin request-transformer (schema)', () => {
  it('fills every list with [] and leaves http_method and replace.uri unset', () => {
    const { value } = schema.validate(plugin.schema, {});
    expect(value).toEqual({
      http_method: null,
      remove: { body: [], headers: [], querystring: [] },
      rename: { body: [], headers: [], querystring: [] },
      replace: { body: [], headers: [], querystring: [], uri: null },
      add: { body: [], headers: [], querystring: [] },
      append: { body: [], headers: [], querystring: [] },
    });
  });

  it.each([
    [{ add: { headers: ['x-a'] } }, 'add.headers'],
    [{ add: { querystring: ['q:'] } }, 'add.querystring'],
    [{ add: { headers: ['bad header:v'] } }, 'add.headers'],
    [{ rename: { headers: ['x-a:bad header'] } }, 'rename.headers'],
    [{ http_method: 'get' }, 'http_method'],
    [{ add: { body: ['a:$(os.execute("rm"))'] } }, 'add.body'],
    [{ replace: { uri: '/x/$(uri_captures.a .. "b")' } }, 'replace.uri'],
    [{ add: { headers: ['x-a:$(headers.x'] } }, 'add.headers'],
  ])('refuses %j (error on %s)', (config, path) => {
    const errors = errorsOf(config) as Record<string, Record<string, unknown>>;
    const [section, field] = path.split('.') as [string, string | undefined];
    expect(errors).not.toBeNull();
    if (field === undefined) expect(errors[section]).toBeDefined();
    else expect(errors[section]![field]).toBeDefined();
  });

  it("names an unsupported template and lists Kong's forms we accept", () => {
    expect(JSON.stringify(errorsOf({ add: { headers: ['x-a:$(type(headers.x))'] } }))).toMatch(
      /not supported.*\$\(headers\.<name>\)/,
    );
    expect(errorsOf({ add: { headers: ['x-a:$(headers.x or query_params["y"] or \'d\')'] } })).toBeNull();
  });

  it('refuses hostile configs with a 4xx-style error tree, never by throwing', () => {
    const hostileString = fc.oneof(
      fc.string(),
      fc.constantFrom('__proto__', 'constructor', '$(', '$()', '$(headers)', ':', '$(shared.__proto__)'),
    );
    const hostile = fc.oneof(
      hostileString,
      fc.array(hostileString),
      fc.dictionary(hostileString, fc.oneof(hostileString, fc.array(hostileString))),
      fc.constant(null),
      fc.integer(),
    );
    fc.assert(
      fc.property(
        fc.record({
          add: fc.oneof(hostile, fc.record({ headers: hostile, body: hostile, querystring: hostile })),
          replace: fc.oneof(hostile, fc.record({ uri: hostile, body: hostile })),
          http_method: hostile,
        }),
        (config) => {
          const r = schema.check(plugin.schema, JSON.parse(JSON.stringify(config)) as unknown);
          expect(r.errors === null || typeof r.errors === 'object').toBe(true);
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        },
      ),
    );
  });
});

describe('plugin request-transformer (templates)', () => {
  const env = (values: Record<string, string>) => ({
    lookup: (source: string, key: string) => values[`${source}.${key}`],
  });

  it.each([
    ['$(headers.x_foo)', { 'headers.x_foo': 'v' }, 'v'],
    ['a-$(headers["X-Foo"])-b', { 'headers.X-Foo': 'v' }, 'a-v-b'],
    ["$(query_params['q'])", { 'query_params.q': '1' }, '1'],
    ['/u/$(uri_captures[1])', { 'uri_captures.1': 'ann' }, '/u/ann'],
    ["$(uri_captures.user1 or 'default1')", {}, 'default1'],
    ['$(headers.missing)', {}, ''],
    ["$('$(uri_captures.user1)')", {}, '$(uri_captures.user1)'],
    ['$(shared.my_version)', { 'shared.my_version': '1.2.3' }, '1.2.3'],
    ['plain', {}, 'plain'],
  ])('renders %s', (source, values, expected) => {
    expect(compileTemplate(source).render(env(values))).toBe(expected);
  });
});

// The examples of Kong's request-transformer documentation ("Examples": incoming request →
// upstream request), one row each: what each rule kind does to headers, query strings and bodies.
describe("plugin request-transformer (Kong's documented examples)", () => {
  it.each([
    {
      example: 'add multiple headers by passing each header:value pair separately',
      config: { add: { headers: ['h1:v1', 'h2:v1'] } },
      req: { headers: [['h1', 'v1']] as [string, string][] },
      headers: { h2: 'v1' },
    },
    {
      example: 'add a querystring and a header',
      config: { add: { querystring: ['q1:v2', 'q2:v1'], headers: ['h1:v1'] } },
      req: { query: 'q1=v1', headers: [['h2', 'v2']] as [string, string][] },
      headers: { h1: 'v1' },
      query: 'q1=v1&q2=v1',
    },
    {
      example: 'append multiple headers and remove a body parameter',
      config: { append: { headers: ['h1:v2', 'h2:v1'] }, remove: { body: ['p1'] } },
      req: { method: 'POST', headers: [['h1', 'v1'], FORM_TYPE] as [string, string][], body: 'p1=v1&p2=v1' },
      headers: { h1: ['v1', 'v2'], h2: 'v1' },
      body: 'p2=v1',
    },
    {
      example: 'remove a header and a query argument',
      config: { remove: { headers: ['h1'], querystring: ['q1'] } },
      req: { query: 'q1=v1&q2=v2', headers: [['h1', 'v1']] as [string, string][] },
      headers: { h1: null },
      query: 'q2=v2',
    },
    {
      example: 'rename a header and a query argument',
      config: { rename: { headers: ['h1:h2'], querystring: ['q1:q2'] } },
      req: { query: 'q1=v1', headers: [['h1', 'v1']] as [string, string][] },
      headers: { h1: null, h2: 'v1' },
      query: 'q2=v1',
    },
    {
      example: 'replace a header and a query argument only when present',
      config: { replace: { headers: ['h1:v2', 'h3:never'], querystring: ['q1:v2', 'q3:never'] } },
      req: { query: 'q1=v1', headers: [['h1', 'v1']] as [string, string][] },
      headers: { h1: 'v2' },
      query: 'q1=v2',
    },
    {
      example: 'add a JSON body parameter that is not there, keep the one that is',
      config: { add: { body: ['p1:v2', 'p2:v1'] } },
      req: { method: 'POST', headers: [JSON_TYPE], body: '{"p1":"v1"}' },
      headers: {},
      json: { p1: 'v1', p2: 'v1' },
    },
  ])('$example', async (row) => {
    const o = await run(row.config, row.req);
    expect(o.answer).toBeNull();
    expect(o.upstreamHeaders).toEqual(row.headers);
    if ('query' in row) expect(o.upstreamQuery).toBe(row.query);
    if ('body' in row) expect(o.upstreamBody).toBe(row.body);
    if ('json' in row) expect(JSON.parse(o.upstreamBody!)).toEqual(row.json);
  });
});

describe('plugin request-transformer (headers)', () => {
  it("removes, renames, replaces, adds and appends in Kong's order", async () => {
    const o = await run(
      {
        remove: { headers: ['x-to-remove'] },
        rename: { headers: ['x-old:x-new'] },
        replace: { headers: ['x-replace:new', 'x-absent:never'] },
        add: { headers: ['x-added:a', 'x-replace:not-added'] },
        append: { headers: ['x-added:b', 'x-list:2'] },
      },
      {
        headers: [
          ['X-To-Remove', 'r'],
          ['X-Old', 'o'],
          ['X-Replace', 'old'],
          ['X-List', '1'],
        ],
      },
    );
    expect(o.upstreamHeaders).toEqual({
      'x-to-remove': null,
      'x-old': null,
      'x-new': 'o',
      'x-replace': 'new',
      'x-added': ['a', 'b'],
      'x-list': ['1', '2'],
    });
    expect(o.answer).toBeNull();
  });

  it('renders templates from the request as the client sent it (a removed header still reads)', async () => {
    const o = await run(
      {
        remove: { headers: ['x-remove-header'] },
        add: { headers: ['x-test-header:$(headers["x-remove-header"])', 'x-user:$(uri_captures.user1)'] },
      },
      { headers: [['x-remove-header', 'its a test']], captures: { '0': '/u/foo', user1: 'foo' } },
    );
    expect(o.upstreamHeaders).toMatchObject({
      'x-remove-header': null,
      'x-test-header': 'its a test',
      'x-user': 'foo',
    });
  });

  it('removes then adds a header, whether the client sent it or not (Kong regression test)', async () => {
    const config = { remove: { headers: ['Authorization'] }, add: { headers: ['Authorization:Basic test'] } };
    for (const headers of [[['Authorization', 'Basic dGVzdDp0ZXN0']] as [string, string][], []]) {
      expect((await run(config, { headers })).upstreamHeaders).toEqual({ authorization: 'Basic test' });
    }
  });

  it('replaces Host but never adds, appends or removes it', async () => {
    expect((await run({ replace: { headers: ['host:up.test'] } })).upstreamHeaders).toEqual({
      host: 'up.test',
    });
    expect(
      (
        await run({
          add: { headers: ['host:x'] },
          append: { headers: ['host:y'] },
          remove: { headers: ['host'] },
        })
      ).upstreamHeaders,
    ).toEqual({});
  });

  it('answers 400 naming the header when a template renders a CR/LF into it', async () => {
    const o = await run({ add: { headers: ['x-q:$(query_params.q)'] } }, { query: 'q=a%0D%0Ab' });
    expect(o.answer).toMatchObject({ status: 400, json: { message: "Invalid value for header 'x-q'" } });
  });
});

describe('plugin request-transformer (query string, method, uri)', () => {
  it('renders hostile query strings and headers into safe targets and headers, or answers 400', async () => {
    const config = {
      add: { headers: ['x-q:$(query_params.q)'], querystring: ['copy:$(headers.x_in)'] },
      rename: { querystring: ['q:__proto__'] },
      replace: { uri: '/p/$(query_params.q)/$(headers["x-in"])' },
    };
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary' }), fc.string(), async (q, header) => {
        const value = header.replace(/[^\t\x20-\x7e]/g, '');
        const o = await run(config, {
          query: `q=${encodeURIComponent(q)}&constructor=1`,
          headers: [['x-in', value]],
        });
        if (o.answer !== null) {
          expect(o.answer.status).toBe(400);
          return;
        }
        expect(o.upstreamPath).toMatch(/^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/);
        expect(o.upstreamQuery).toMatch(/^[A-Za-z0-9\-._~%=&]*$/);
        expect(String(o.upstreamHeaders['x-q'] ?? '')).not.toMatch(/[\r\n\0]/);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: 200 },
    );
  });

  it('transforms the query string and sends it in lexicographical order', async () => {
    const o = await run(
      {
        remove: { querystring: ['toremove'] },
        rename: { querystring: ['old:new'] },
        replace: { querystring: ['r:2'] },
        add: { querystring: ['a:x y', 'r:never'] },
        append: { querystring: ['p:2'] },
      },
      { query: 'toremove=1&old=o&r=1&p=1&z=%2F' },
    );
    expect(o.upstreamQuery).toBe('a=x%20y&new=o&p=1&p=2&r=2&z=%2F');
  });

  it('leaves the query string alone when no querystring rule exists', async () => {
    expect((await run({ add: { headers: ['x-a:1'] } }, { query: 'b=1&a=2' })).upstreamQuery).toBeNull();
  });

  it('renders uri captures into the query string and replace.uri', async () => {
    const o = await run(
      {
        add: { querystring: ['uri_param1:$(uri_captures.user1)'] },
        replace: { uri: '/requests/user2/$(uri_captures.user2)/user1/$(uri_captures.user1)' },
      },
      { path: '/requests/user1/foo/user2/bar', captures: { user1: 'foo', user2: 'bar' } },
    );
    expect(o.upstreamPath).toBe('/requests/user2/bar/user1/foo');
    expect(o.upstreamQuery).toBe('uri_param1=foo');
  });

  it('sets the upstream method and moves a form body into the query string for GET', async () => {
    const o = await run(
      { http_method: 'GET' },
      { method: 'POST', headers: [FORM_TYPE], body: 'a=1&b=2', query: 'a=0' },
    );
    expect(o.upstreamMethod).toBe('GET');
    expect(o.upstreamQuery).toBe('a=0&a=1&b=2');
    expect(o.bodyRead).toBe(true);
  });

  it('does not read the body when only the method changes to POST', async () => {
    const o = await run({ http_method: 'POST' }, { method: 'GET', headers: [FORM_TYPE], body: 'a=1' });
    expect(o.upstreamMethod).toBe('POST');
    expect(o.bodyRead).toBe(false);
  });
});

describe('plugin request-transformer (bodies)', () => {
  const bodyConfig = {
    remove: { body: ['toremove'] },
    rename: { body: ['old:new'] },
    replace: { body: ['r:2'] },
    add: { body: ['a:1', 'r:never'] },
    append: { body: ['list:b'] },
  };

  it('transforms a JSON object body', async () => {
    const o = await run(bodyConfig, {
      method: 'POST',
      headers: [JSON_TYPE],
      body: JSON.stringify({ toremove: 1, old: 'o', r: 1, list: 'a', keep: { deep: true } }),
    });
    expect(JSON.parse(o.upstreamBody!)).toEqual({
      new: 'o',
      r: '2',
      list: ['a', 'b'],
      keep: { deep: true },
      a: '1',
    });
  });

  it('adds and appends to an empty JSON body, but removes nothing from it', async () => {
    const o = await run(bodyConfig, { method: 'POST', headers: [JSON_TYPE] });
    expect(JSON.parse(o.upstreamBody!)).toEqual({ a: '1', r: 'never', list: ['b'] });
  });

  it('passes a malformed JSON body, an array and a scalar through untouched', async () => {
    for (const body of ['{"a":', '[1,2]', '"text"']) {
      const o = await run(bodyConfig, { method: 'POST', headers: [JSON_TYPE], body });
      expect(o.upstreamBody).toBeNull();
    }
  });

  it('transforms a form body', async () => {
    const o = await run(bodyConfig, {
      method: 'POST',
      headers: [FORM_TYPE],
      body: 'toremove=1&old=o&r=1&list=a&k=a+b',
    });
    expect(o.upstreamBody).toBe('r=2&list=a&list=b&k=a%20b&new=o&a=1');
  });

  it('transforms a multipart body, keeping file parts byte for byte', async () => {
    const file = Buffer.from([0, 1, 2, 0xff, 0x0d, 0x0a]);
    const body = Buffer.concat([
      Buffer.from('--XyZ\r\nContent-Disposition: form-data; name="old"\r\n\r\no\r\n'),
      Buffer.from('--XyZ\r\nContent-Disposition: form-data; name="toremove"\r\n\r\nx\r\n'),
      Buffer.from(
        '--XyZ\r\nContent-Disposition: form-data; name="f"; filename="a.bin"\r\nContent-Type: application/octet-stream\r\n\r\n',
      ),
      file,
      Buffer.from('\r\n--XyZ--\r\n'),
    ]);
    const o = await run(bodyConfig, {
      method: 'POST',
      headers: [['content-type', 'multipart/form-data; boundary=XyZ']],
      body,
    });
    const out = Buffer.from(o.upstreamBody!, 'latin1');
    const text = o.upstreamBody!;
    expect(text).toContain('name="new"\r\n\r\no\r\n');
    expect(text).not.toContain('toremove');
    expect(text).toContain('name="a"\r\n\r\n1\r\n');
    expect(text).toContain('filename="a.bin"');
    expect(text.endsWith('--XyZ--\r\n')).toBe(true);
    expect(out.length).toBeGreaterThan(0);
  });

  it('leaves a body alone when no body rule exists (streaming kept)', async () => {
    const o = await run({ add: { headers: ['x:1'] } }, { method: 'POST', headers: [JSON_TYPE], body: '{}' });
    expect(o.bodyRead).toBe(false);
    expect(o.upstreamBody).toBeNull();
  });

  it('does not read a body declared larger than the transform limit', async () => {
    const o = await run(bodyConfig, {
      method: 'POST',
      headers: [JSON_TYPE, ['content-length', String(TRANSFORM_BODY_LIMIT + 1)]],
      body: '{}',
    });
    expect(o.bodyRead).toBe(false);
  });

  it('never pollutes prototypes with __proto__ in bodies or in rules', async () => {
    const config = {
      rename: { body: ['__proto__:x'] },
      add: { body: ['__proto__:polluted', 'constructor:c'] },
      append: { body: ['__proto__:p2'] },
    };
    await fc.assert(
      fc.asyncProperty(fc.json(), async (json) => {
        const body = `{"__proto__":{"polluted":true},"j":${json}}`;
        const o = await run(config, { method: 'POST', headers: [JSON_TYPE], body });
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        if (o.upstreamBody !== null) {
          const out = JSON.parse(o.upstreamBody) as Record<string, unknown>;
          expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
        }
      }),
      { numRuns: 100 },
    );
    const form = await run(config, { method: 'POST', headers: [FORM_TYPE], body: '__proto__=a&x=1' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(form.upstreamBody).toBe('x=a&__proto__=polluted&__proto__=p2&constructor=c');
  });

  it('handles hostile bodies of every kind without throwing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(JSON_TYPE, FORM_TYPE, ['content-type', 'multipart/form-data; boundary=b'] as [
          string,
          string,
        ]),
        fc.oneof(
          fc.string(),
          fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
        ),
        async (type, body) => {
          const o = await run(bodyConfig, { method: 'POST', headers: [type], body });
          expect(o.answer).toBeNull();
        },
      ),
      { numRuns: 200 },
    );
  });
});

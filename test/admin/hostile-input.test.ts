/**
 * Issue 8 items 3 and 4 against a real control plane run in this process: every entry point
 * that parses client input (JSON, YAML, text and form bodies, `{ config }`, query strings, path
 * ids, plugin configs and their PATCH merge, the declarative endpoints) refuses a prototype key,
 * a NUL character or an over-long value with a 400 naming the field, leaves Object.prototype as
 * it was, and the control plane still takes writes afterwards.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DB_KINDS } from '../helpers/db.js';
import {
  expectPristinePrototypes,
  startInProcessCp,
  type InProcessCp,
  type Json,
} from './hostile-support.js';

const JSON_CT = 'application/json';
const FORM = 'application/x-www-form-urlencoded';
const PROTO_DOC = '{"_format_version":"3.0","__proto__":{"x":"y"}}';
const YAML_PROTO = '_format_version: "3.0"\n__proto__:\n  x: y\n';

/** [entry point, method, path, body, content type, text the 400 body must contain (the field)] */
type Case = [string, string, string, unknown, string | undefined, string];

const PROTOTYPE_CASES: Case[] = [
  ['POST /config/diff, JSON document (the issue)', 'POST', '/config/diff', PROTO_DOC, JSON_CT, '__proto__'],
  ['POST /config, JSON document', 'POST', '/config', PROTO_DOC, JSON_CT, '__proto__'],
  ['POST /config, YAML body', 'POST', '/config', YAML_PROTO, 'application/yaml', '__proto__'],
  ['POST /config, text/plain body', 'POST', '/config', PROTO_DOC, 'text/plain', '__proto__'],
  ['POST /config, {"config": "<json>"}', 'POST', '/config', { config: PROTO_DOC }, JSON_CT, '__proto__'],
  [
    'POST /config/diff, {"config": "<yaml>"}',
    'POST',
    '/config/diff',
    { config: YAML_PROTO },
    JSON_CT,
    '__proto__',
  ],
  [
    'POST /config, form config=<yaml>',
    'POST',
    '/config',
    `config=${encodeURIComponent(YAML_PROTO)}`,
    FORM,
    '__proto__',
  ],
  [
    'POST /config, inside an entity',
    'POST',
    '/config',
    '{"_format_version":"3.0","services":[{"name":"s","host":"h.example","__proto__":{"x":"y"}}]}',
    JSON_CT,
    'services',
  ],
  [
    'POST /config, constructor.prototype',
    'POST',
    '/config',
    '{"_format_version":"3.0","consumers":[{"username":"u","constructor":{"prototype":{"x":"y"}}}]}',
    JSON_CT,
    'constructor',
  ],
  [
    'POST /config, a top-level key named like an Object.prototype member',
    'POST',
    '/config',
    '{"_format_version":"3.0","toString":[{"x":"y"}]}',
    JSON_CT,
    'toString',
  ],
  [
    'POST /config, plugin config',
    'POST',
    '/config',
    '{"_format_version":"3.0","plugins":[{"name":"cors","config":{"__proto__":{"x":"y"}}}]}',
    JSON_CT,
    'plugins',
  ],
  [
    'POST /services, JSON',
    'POST',
    '/services',
    '{"name":"a","host":"h.example","__proto__":{"x":"y"}}',
    JSON_CT,
    '__proto__',
  ],
  [
    'POST /services, form __proto__.x',
    'POST',
    '/services',
    '__proto__.x=y&name=b&host=h.example',
    FORM,
    '__proto__',
  ],
  [
    'POST /routes, form headers[__proto__]',
    'POST',
    '/routes',
    'headers[__proto__]=y&paths=/x',
    FORM,
    '__proto__',
  ],
  [
    'POST /routes, form headers.__proto__',
    'POST',
    '/routes',
    'headers.__proto__=y&paths=/x',
    FORM,
    '__proto__',
  ],
  [
    'POST /plugins, nested config',
    'POST',
    '/plugins',
    '{"name":"request-transformer","config":{"add":{"__proto__":{"x":"y"}}}}',
    JSON_CT,
    'config',
  ],
  [
    'PATCH /plugins/{id}, config merge',
    'PATCH',
    '/plugins/{plugin}',
    '{"config":{"__proto__":{"x":"y"}}}',
    JSON_CT,
    '__proto__',
  ],
  [
    'PATCH /upstreams/{id}, healthchecks merge',
    'PATCH',
    '/upstreams/{upstream}',
    '{"healthchecks":{"constructor":{"prototype":{"x":"y"}}}}',
    JSON_CT,
    'constructor',
  ],
  [
    'POST /schemas/services/validate',
    'POST',
    '/schemas/services/validate',
    '{"__proto__":{"x":"y"}}',
    JSON_CT,
    '__proto__',
  ],
  [
    'POST /consumer_groups/{g}/consumers',
    'POST',
    '/consumer_groups/hostile-group/consumers',
    '{"consumer":"u","__proto__":{"x":"y"}}',
    JSON_CT,
    '__proto__',
  ],
  ['GET ?__proto__[x]=y', 'GET', '/services?__proto__[x]=y', undefined, undefined, '__proto__'],
  [
    'GET ?constructor.prototype.x=y',
    'GET',
    '/consumers?constructor.prototype.x=y',
    undefined,
    undefined,
    'constructor',
  ],
];

const LONG = 'A'.repeat(921_600);

/** Issue 8 item 4: each of these hit a Postgres error (22021, 54000, 22P02) and answered 500. */
const DATA_CASES: Case[] = [
  ['NUL in a body field', 'POST', '/consumers', { username: '\u0000' }, JSON_CT, '"username"'],
  [
    'NUL in a custom_id',
    'POST',
    '/consumers',
    { username: 'n', custom_id: 'a\u0000b' },
    JSON_CT,
    '"custom_id"',
  ],
  ['NUL in a path id', 'GET', '/services/%00', undefined, undefined, 'invalid path'],
  ['NUL in a nested path id', 'GET', '/consumers/%00/key-auth', undefined, undefined, 'invalid path'],
  ['NUL in a tag path', 'GET', '/tags/a%00', undefined, undefined, 'invalid path'],
  ['NUL in ?tags=', 'GET', '/services?tags=%00', undefined, undefined, '"tags"'],
  ['NUL in ?offset=', 'GET', '/routes?offset=%00', undefined, undefined, 'offset'],
  ['an offset that is not an id', 'GET', '/services?offset=WyJ4Il0', undefined, undefined, 'offset'],
  [
    'NUL in a reference by name',
    'POST',
    '/routes',
    { paths: ['/n'], service: { name: 'a\u0000' } },
    JSON_CT,
    '"service"',
  ],
  ['NUL in an unknown field name', 'POST', '/consumers', { 'a\u0000': 1, username: 'k' }, JSON_CT, '\\u0000'],
  [
    'NUL in a plugin config',
    'POST',
    '/plugins',
    { name: 'cors', config: { origins: ['\u0000'] } },
    JSON_CT,
    '"config"',
  ],
  [
    'canary hash cookie without hash_cookie',
    'POST',
    '/plugins',
    { name: 'canary', config: { upstream_port: 8080, hash: 'cookie' } },
    JSON_CT,
    '"hash_cookie":"required field missing"',
  ],
  [
    'canary cookie name with a separator',
    'POST',
    '/plugins',
    { name: 'canary', config: { upstream_port: 8080, canary_by_cookie_name: 'a;b' } },
    JSON_CT,
    '"canary_by_cookie_name"',
  ],
  ['NUL in a form field', 'POST', '/consumers', 'username=%00', FORM, '"username"'],
  [
    'NUL in a declarative file',
    'POST',
    '/config',
    { config: '_format_version: "3.0"\nconsumers:\n  - username: "a\\0"\n' },
    JSON_CT,
    'consumers',
  ],
  ['a 900 KiB name (the issue)', 'POST', '/services', { name: LONG, host: 'a.example' }, JSON_CT, '"name"'],
  ['a 600 KiB username', 'POST', '/consumers', { username: LONG.slice(0, 600_000) }, JSON_CT, '"username"'],
  ['a long tag', 'POST', '/consumers', { username: 't', tags: ['t'.repeat(129)] }, JSON_CT, '"tags"'],
  [
    'a long key-auth key',
    'POST',
    '/consumers/hostile-owner/key-auth',
    { key: 'k'.repeat(5000) },
    JSON_CT,
    '"key"',
  ],
  [
    'a long host',
    'POST',
    '/services',
    { host: `${'a'.repeat(60)}.`.repeat(10) + 'example' },
    JSON_CT,
    '"host"',
  ],
  [
    'a long target',
    'POST',
    '/upstreams/hostile-upstream/targets',
    { target: `${'t'.repeat(300)}:80` },
    JSON_CT,
    '"target"',
  ],
  [
    'a long name in a declarative file',
    'POST',
    '/config',
    { _format_version: '3.0', services: [{ name: LONG.slice(0, 5000), host: 'a.example' }] },
    JSON_CT,
    'services',
  ],
  [
    'nesting 100 levels deep',
    'POST',
    '/services',
    JSON.parse(`${'{"a":'.repeat(100)}1${'}'.repeat(100)}`),
    JSON_CT,
    'nested',
  ],
];

describe.each(DB_KINDS)('hostile Admin API input on %s', (kind) => {
  let h: InProcessCp;
  const ids: Record<string, string> = {};
  let n = 0;

  beforeAll(async () => {
    h = await startInProcessCp(kind);
    const plugin = await h.call('POST', '/plugins', { name: 'cors', instance_name: 'hostile-cors' });
    expect(plugin.status, JSON.stringify(plugin.body)).toBe(201);
    ids.plugin = plugin.body.id;
    const upstream = await h.call('POST', '/upstreams', { name: 'hostile-upstream' });
    expect(upstream.status).toBe(201);
    ids.upstream = upstream.body.id;
    expect((await h.call('POST', '/consumer_groups', { name: 'hostile-group' })).status).toBe(201);
    expect((await h.call('POST', '/consumers', { username: 'hostile-owner' })).status).toBe(201);
  }, 180_000);
  afterAll(async () => h?.stop());

  /** The control plane still writes: a new consumer is created and read back. */
  async function stillServesWrites(): Promise<void> {
    const username = `after-${++n}`;
    const created = await h.call('POST', '/consumers', { username });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect((await h.call('GET', `/consumers/${username}`)).status).toBe(200);
    expect((await h.call('GET', '/services')).status).toBe(200);
  }

  afterEach(() => expectPristinePrototypes());

  const send = (method: string, path: string, body: unknown, ct?: string) =>
    h.call(
      method,
      path.replace(/\{(\w+)\}/g, (_, k: string) => ids[k]!),
      body,
      ct,
    );

  describe('item 3: no entry point writes a prototype', () => {
    it.each(PROTOTYPE_CASES)('%s', async (_name, method, path, body, ct, names) => {
      const r = await send(method, path, body, ct);
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(JSON.stringify(r.body)).toContain(names);
      expectPristinePrototypes();
      await stillServesWrites();
    });

    it('names the field as Kong names an unknown one', async () => {
      const r: { status: number; body: Json } = await h.call('POST', '/config/diff', PROTO_DOC);
      expect(r.body).toMatchObject({
        code: 14,
        message: 'declarative config is invalid: __proto__: unknown field',
      });
      expect(Object.entries(r.body.fields)).toEqual([['__proto__', 'unknown field']]);
      const s: { status: number; body: Json } = await h.call(
        'POST',
        '/services',
        '{"host":"a.example","__proto__":{"x":"y"}}',
      );
      expect(s.body).toMatchObject({
        name: 'schema violation',
        code: 2,
        message: 'schema violation (__proto__: unknown field)',
      });
    });
  });

  describe('item 4: bad data is a 400 naming the field, never a database error', () => {
    it.each(DATA_CASES)('%s', async (_name, method, path, body, ct, names) => {
      const before = await h.call('GET', '/consumers?size=1000');
      const r = await send(method, path, body, ct);
      expect(r.status, JSON.stringify(r.body).slice(0, 300)).toBe(400);
      expect(JSON.stringify(r.body).slice(0, 2000)).toContain(names);
      expect(await h.call('GET', '/consumers?size=1000')).toEqual(before);
      await stillServesWrites();
    });

    it('the issue’s NUL username names the field with Kong’s schema-violation shape', async () => {
      const r = await h.call('POST', '/consumers', { username: '\u0000' });
      expect(r.body).toEqual({
        message: 'schema violation (username: must not contain NUL characters (\\u0000))',
        name: 'schema violation',
        code: 2,
        fields: { username: 'must not contain NUL characters (\\u0000)' },
      });
    });

    it('names and tags at the limit are stored', async () => {
      const name = 'n'.repeat(255);
      const tag = 't'.repeat(128);
      const r = await h.call('POST', '/services', { name, host: 'a.example', tags: [tag] });
      expect(r.status, JSON.stringify(r.body).slice(0, 300)).toBe(201);
      expect((await h.call('GET', `/services?tags=${tag}`)).body.data).toHaveLength(1);
      const key = 'k'.repeat(512);
      expect((await h.call('POST', '/consumers/hostile-owner/key-auth', { key })).status).toBe(201);
    });
  });
});

/**
 * Admin API query strings and request bodies as Kong's (issue 9): `/consumers?custom_id=`, field
 * filters, `?tags=`, `size` and `offset`, `/tags/{tag}`, and body parsing (GET bodies ignored,
 * empty JSON bodies, multipart/form-data). Run against each database kind
 * (admin-query-pglite.test.ts / admin-query-postgres.test.ts). Each case cites the Kong spec it
 * comes from.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { DbKind } from '../helpers/db.js';
import { bytes, useAdminServer, type Json } from './contract-server.js';

/** A multipart/form-data body with one part per field (a file part when `file` is set). */
function multipart(fields: [string, string, { file?: string }?][]): { body: string; type: string } {
  const boundary = '----gatehouse-test-boundary';
  const parts = fields.map(([name, value, o]) => {
    const disposition = o?.file
      ? `form-data; name="${name}"; filename="${o.file}"\r\nContent-Type: text/plain`
      : `form-data; name="${name}"`;
    return `--${boundary}\r\nContent-Disposition: ${disposition}\r\n\r\n${value}\r\n`;
  });
  return { body: `${parts.join('')}--${boundary}--\r\n`, type: `multipart/form-data; boundary=${boundary}` };
}

export function adminQueryContract(kind: DbKind) {
  describe(`Admin API query strings and bodies on ${kind}`, () => {
    const { call, ok, raw } = useAdminServer(kind);

    describe('GET /consumers?custom_id= (03-consumers_routes_spec.lua)', () => {
      it('finds the consumer with that custom_id, one with a space or a uuid-like value', async () => {
        await ok('POST', '/consumers', { username: 'other', custom_id: 'other' });
        const spaced = await ok('POST', '/consumers', { custom_id: 'abc def 1' });
        const uuidLike = await ok('POST', '/consumers', {
          custom_id: '5f9c1a1e-3b8f-4a0e-9d52-0c0b1a2b3c4d',
        });
        const a = await call('GET', `/consumers?custom_id=${encodeURIComponent('abc def 1')}`);
        expect(a.status).toBe(200);
        expect(a.body).toEqual({ data: [spaced], next: null });
        const b = await call('GET', '/consumers?custom_id=abc+def+1');
        expect(b.body.data).toEqual([spaced]);
        const c = await call('GET', `/consumers?custom_id=${uuidLike.custom_id}`);
        expect(c.body).toEqual({ data: [uuidLike], next: null });
      });

      it('answers an empty data array when no consumer has it', async () => {
        await ok('POST', '/consumers', { username: 'x', custom_id: 'x' });
        const r = await call('GET', '/consumers?custom_id=does-not-exist');
        expect(r.status).toBe(200);
        expect(r.text).toMatch(/"data":\[\]/);
        expect(r.body).toEqual({ data: [], next: null });
      });

      it('an empty or bare custom_id is a 400 (#KAG-867)', async () => {
        for (const path of ['/consumers?custom_id=', '/consumers?custom_id']) {
          const r = await call('GET', path);
          expect(r.status, path).toBe(400);
          expect(r.body).toEqual({ message: 'custom_id must be an unempty string' });
        }
      });

      it('custom_id is a lookup: size, offset and tags are not read with it', async () => {
        const c = await ok('POST', '/consumers', { custom_id: 'only' });
        const r = await call('GET', '/consumers?custom_id=only&size=x&tags=');
        expect(r.status).toBe(200);
        expect(r.body).toEqual({ data: [c], next: null });
      });
    });

    describe('field filters (Kong Enterprise, Kong Manager)', () => {
      it('?name= lists the entities with that name, in the database, and next keeps the filter', async () => {
        await ok('POST', '/services', { name: 's1', host: 'a.internal' });
        const s2 = await ok('POST', '/services', { name: 's2', host: 'a.internal' });
        expect((await call('GET', '/services?name=s2')).body).toEqual({ data: [s2], next: null });
        expect((await call('GET', '/services?name=nope')).body.data).toEqual([]);
        const byHost = await call('GET', '/services?host=a.internal&size=1');
        expect(byHost.body.data).toHaveLength(1);
        expect(byHost.body.next).toBe(
          `/services?offset=${encodeURIComponent(byHost.body.offset)}&size=1&host=a.internal`,
        );
        expect((await call('GET', byHost.body.next)).body.data).toHaveLength(1);
      });

      it('unknown arguments and an empty filter are ignored, as Kong (09-routes_routes_spec.lua "handles invalid filters")', async () => {
        await ok('POST', '/services', { name: 's1', host: 'a.internal' });
        expect((await call('GET', '/services?foo=bar')).body.data).toHaveLength(1);
        expect((await call('GET', '/services?name=')).body.data).toHaveLength(1);
        expect((await call('GET', '/routes?foo=bar')).body).toEqual({ data: [], next: null });
      });
    });

    describe('?tags= (14-tags_spec.lua)', () => {
      let consumers: Json[];
      beforeEach(async () => {
        consumers = [];
        for (const i of [1, 2]) {
          const c = await ok('POST', '/consumers', {
            username: `adminapi-filter-by-tag-${i}`,
            tags: ['corp_ a', `consumer_ ${i}`, '🦍'],
          });
          expect(c.tags).toEqual(['corp_ a', `consumer_ ${i}`, '🦍']);
          consumers.push(c);
          await ok('POST', `/consumers/${c.id}/plugins`, {
            name: 'request-termination',
            tags: ['corp_ a', `consumer_ ${i}`],
          });
        }
      });

      it('filters by one tag with a space, and by a unicode tag', async () => {
        expect((await call('GET', '/consumers?tags=corp_%20a')).body.data).toHaveLength(2);
        expect((await call('GET', `/consumers?tags=${encodeURIComponent('🦍')}`)).body.data).toHaveLength(2);
      });

      it('?tags= and ?tags are "cannot be null"', async () => {
        for (const path of ['/consumers?tags=', '/consumers?tags', '/services?tags=']) {
          const r = await call('GET', path);
          expect(r.status, path).toBe(400);
          expect(r.body).toEqual({
            message: 'invalid option (tags: cannot be null)',
            name: 'invalid options',
            code: 11,
            options: { tags: 'cannot be null' },
          });
        }
      });

      it("?tags='' is a tag like any other (no entity has it)", async () => {
        const r = await call('GET', "/consumers?tags=''");
        expect(r.status).toBe(200);
        expect(r.body.data).toEqual([]);
      });

      it('a,b is all of them, a/b any of them', async () => {
        const and = await call('GET', '/consumers?tags=corp_%20a,consumer_%201');
        expect(and.body.data.map((c: { id: string }) => c.id)).toEqual([consumers[0].id]);
        expect((await call('GET', '/consumers?tags=consumer_%202/consumer_%201')).body.data).toHaveLength(2);
      });

      it('nested collections check tags but do not filter by them (#6779)', async () => {
        const r = await call('GET', '/consumers/adminapi-filter-by-tag-1/plugins?tags=consumer_%202');
        expect(r.status).toBe(200);
        expect(r.body.data).toHaveLength(1);
        expect(r.body.data[0].tags).toContain('consumer_ 1');
        expect((await call('GET', '/consumers/adminapi-filter-by-tag-1/plugins?tags=')).status).toBe(400);
      });

      it('mixing , and / is "invalid filter syntax"', async () => {
        for (const tags of [
          'consumer_%203,consumer_%202/consumer_%201',
          'consumer_%203/consumer_%202,consumer_%201',
        ]) {
          const r = await call('GET', `/consumers?tags=${tags}`);
          expect(r.status).toBe(400);
          expect(r.body).toEqual({
            message: 'invalid option (tags: invalid filter syntax)',
            name: 'invalid options',
            code: 11,
            options: { tags: 'invalid filter syntax' },
          });
        }
      });

      it('a tag that is not UTF-8 or holds a control character is "invalid filter syntax"', async () => {
        for (const path of ['/consumers?tags=%FF', '/consumers?tags=a%C3%28', '/consumers?tags=a%09b']) {
          const r = await raw('GET', path);
          expect(r.status, path).toBe(400);
          expect(r.body.message).toBe('invalid option (tags: invalid filter syntax)');
        }
      });

      it('more than 5 tags is refused (03-db/07-tags_spec.lua)', async () => {
        const r = await call('GET', '/consumers?tags=a,b,c,d,e,f');
        expect(r.status).toBe(400);
        expect(r.body.message).toBe('invalid option (tags: cannot query more than 5 tags)');
        expect((await call('GET', '/consumers?tags=a,b,c,d,e')).status).toBe(200);
      });

      it("next repeats the tags argument, escaped as Kong's", async () => {
        const r = await call('GET', '/consumers?tags=corp_%20a&size=1');
        expect(r.body.data).toHaveLength(1);
        expect(r.body.next).toContain('tags=corp_%20a');
        expect(r.body.next).toBe(
          `/consumers?offset=${encodeURIComponent(r.body.offset)}&tags=corp_%20a&size=1`,
        );
        expect((await call('GET', r.body.next)).body.data).toHaveLength(1);
      });

      it('a nested next carries only the offset, as Kong', async () => {
        const c = consumers[0];
        await ok('POST', `/consumers/${c.id}/plugins`, {
          name: 'ip-restriction',
          config: { allow: ['10.0.0.1'] },
        });
        const r = await call('GET', `/consumers/${c.id}/plugins?size=1`);
        expect(r.body.next).toBe(`/consumers/${c.id}/plugins?offset=${encodeURIComponent(r.body.offset)}`);
      });

      it('tags with a space, and other printable ASCII but , and /, are stored; control characters are not', async () => {
        const good = await call('POST', '/services', { host: 'h.internal', tags: [' lead', 'a b', '#?*'] });
        expect(good.status, good.text).toBe(201);
        for (const bad of ['a,b', 'a/b', 'a\tb', 'a\u007fb']) {
          const r = await call('POST', '/services', { host: 'h.internal', tags: [bad] });
          expect(r.status, bad).toBe(400);
          expect(r.body.fields.tags).toEqual([
            `invalid tag '${bad}': expected printable ascii (except \`,\` and \`/\`) or valid utf-8 sequences`,
          ]);
        }
        const surrogate = await call('POST', '/services', '{"host":"h.internal","tags":["ab\\ud800"]}');
        expect(surrogate.status).toBe(400);
        expect(surrogate.body.fields.tags).toEqual([
          'invalid utf-8 character sequence detected at position 3',
        ]);
      });
    });

    describe('/tags (14-tags_spec.lua)', () => {
      beforeEach(async () => {
        for (const i of [1, 2])
          await ok('POST', '/consumers', { username: `tagged-${i}`, tags: ['corp_ a', `consumer_ ${i}`] });
      });

      it('/tags, /tags/{tag}, an unknown tag, and ?tags= ignored on both', async () => {
        expect((await call('GET', '/tags')).body.data).toHaveLength(4);
        expect((await call('GET', '/tags/corp_%20a')).body.data).toHaveLength(2);
        expect((await call('GET', '/tags/does-not-exist')).body).toEqual({ data: [], next: null });
        expect((await call('GET', '/tags?tags=not_a_tag')).body.data).toHaveLength(4);
        expect((await call('GET', '/tags?tags=invalid@tag')).body.data).toHaveLength(4);
        expect((await call('GET', '/tags?tags=')).body.data).toHaveLength(4);
        expect((await call('GET', '/tags/corp_%20a?tags=not_a_tag')).body.data).toHaveLength(2);
      });

      it('a UTF-8 tag in the path', async () => {
        await ok('POST', '/consumers', { username: 'gorilla', tags: ['🦍'] });
        const r = await call('GET', `/tags/${encodeURIComponent('🦍')}`);
        expect(r.status).toBe(200);
        expect(r.body.data).toEqual([{ tag: '🦍', entity_name: 'consumers', entity_id: expect.any(String) }]);
      });

      it('a raw (not percent-encoded) non-ASCII byte in the request target is a 400 (Node refuses it)', async () => {
        expect((await raw('GET', '/tags/\u00ff')).status).toBe(400);
        expect((await raw('GET', bytes('/consumers?tags=🦍'))).status).toBe(400);
      });

      it('/tags/{tag} that is not UTF-8 or not a tag is "invalid unique tag"', async () => {
        for (const path of ['/tags/%FF', '/tags/a%F0%9F%A6']) {
          const r = await raw('GET', path);
          expect(r.status, path).toBe(400);
          expect(r.body).toEqual({
            message: `invalid utf-8 character sequence detected at position ${path === '/tags/%FF' ? 1 : 2}`,
            name: 'invalid unique tag',
            code: 10,
          });
        }
        const comma = await call('GET', '/tags/a%2Cb');
        expect(comma.status).toBe(400);
        expect(comma.body).toEqual({
          message:
            "invalid tag 'a,b': expected printable ascii (except `,` and `/`) or valid utf-8 sequences",
          name: 'invalid unique tag',
          code: 10,
        });
      });
    });

    describe('size and offset (09-routes_routes_spec.lua, 03-db/02-db_core_entities_spec.lua)', () => {
      it('a size Lua cannot read as a number is "size must be a number"', async () => {
        for (const size of ['x', 'potato', '', '1,2']) {
          const r = await call('GET', `/routes?size=${size}`);
          expect(r.status, size).toBe(400);
          expect(r.body).toEqual({ code: 9, name: 'invalid size', message: 'size must be a number' });
        }
        expect((await call('GET', '/routes?size')).body.message).toBe('size must be a number');
        expect((await call('GET', '/routes?size=1&size=2')).body.message).toBe('size must be a number');
        expect((await call('GET', '/tags?size=x')).body.message).toBe('size must be a number');
      });

      it('a number that is not an integer between 1 and 1000 names the range', async () => {
        for (const size of ['0', '1001', '-3', '1.5', 'inf', 'nan']) {
          const r = await call('GET', `/services?size=${size}`);
          expect(r.status, size).toBe(400);
          expect(r.body).toEqual({
            code: 9,
            name: 'invalid size',
            message: 'size must be an integer between 1 and 1000',
          });
        }
      });

      it('sizes Lua reads as integers are accepted (spaces, 2.0, 1e1, hex)', async () => {
        for (const size of ['%202%20', '2.0', '1e1', '0x10'])
          expect((await call('GET', `/services?size=${size}`)).status, size).toBe(200);
      });

      it('offsets: not base64, not JSON, empty, or not one of ours', async () => {
        const cases: [string, string][] = [
          ['x', "'x' is not a valid offset: bad base64 encoding"],
          ['|potato|', "'|potato|' is not a valid offset: bad base64 encoding"],
          [Buffer.from('hello').toString('base64url'), "'aGVsbG8' is not a valid offset: bad json encoding"],
          ['', "'' is not a valid offset: bad json encoding"],
          [Buffer.from('["x"]').toString('base64url'), "'WyJ4Il0' is not a valid offset: malformed offset"],
        ];
        for (const [offset, message] of cases) {
          const r = await call('GET', `/routes?offset=${encodeURIComponent(offset)}`);
          expect(r.status, offset).toBe(400);
          expect(r.body).toEqual({ code: 7, name: 'invalid offset', message });
        }
      });
    });

    describe('request bodies (api_helpers.lua; 03-consumers_routes_spec.lua, 09-routes_routes_spec.lua)', () => {
      it('a GET ignores its body, even one that is not JSON', async () => {
        const text = 'this fails if decoded as json';
        const headers = { 'content-type': 'application/json', 'content-length': `${text.length}` };
        expect((await raw('GET', '/routes', headers, text)).status).toBe(200);
        const get = await raw(
          'GET',
          '/services',
          { 'content-type': 'text/plain', 'content-length': '3' },
          'abc',
        );
        expect(get.status).toBe(200);
        await ok('POST', '/consumers', { username: 'bob' });
        const del = await raw(
          'DELETE',
          '/consumers/bob',
          { 'content-type': 'application/json', 'content-length': '1' },
          '{',
        );
        expect(del.status).toBe(204);
      });

      it('POST, PATCH and PUT with a JSON content type and no body are "Cannot parse JSON body"', async () => {
        await ok('POST', '/consumers', { username: 'bob' });
        for (const [method, path] of [
          ['POST', '/consumers'],
          ['PATCH', '/consumers/bob'],
          ['PUT', '/consumers/bob'],
        ] as const) {
          const r = await raw(method, path, { 'content-type': 'application/json' });
          expect(r.status, method).toBe(400);
          expect(r.body).toEqual({ message: 'Cannot parse JSON body' });
          const empty = await raw(method, path, {
            'content-type': 'application/json',
            'content-length': '0',
          });
          expect(empty.body).toEqual({ message: 'Cannot parse JSON body' });
        }
        expect((await call('GET', '/consumers/bob')).body.username).toBe('bob');
      });

      it('a body-less POST without a content type, or with a form type, is a schema violation', async () => {
        const headerSets: Record<string, string>[] = [
          {},
          { 'content-length': '0' },
          { 'transfer-encoding': 'chunked' },
          { 'content-type': 'multipart/form-data' },
          { 'content-type': 'application/x-www-form-urlencoded' },
        ];
        for (const headers of headerSets) {
          const r = await raw('POST', '/consumers', headers);
          expect(r.status, JSON.stringify(headers)).toBe(400);
          expect(r.body.name).toBe('schema violation');
          expect(r.body.fields['@entity']).toEqual([
            "at least one of these fields must be non-empty: 'custom_id', 'username'",
          ]);
        }
      });

      it('a body with an unsupported or no content type is a 415', async () => {
        expect(
          (await raw('POST', '/consumers', { 'content-type': 'invalid' }, '{"hello": "world"}')).status,
        ).toBe(415);
        expect((await raw('POST', '/consumers', { 'content-length': '7' }, 'invalid')).status).toBe(415);
      });

      it('multipart/form-data creates and updates, values coerced like form fields', async () => {
        const create = multipart([
          ['username', 'abc def 1'],
          ['tags[1]', 't1'],
          ['tags[2]', 't2'],
        ]);
        const c = await call('POST', '/consumers', create.body, { 'content-type': create.type });
        expect(c.status, c.text).toBe(201);
        expect(c.body).toMatchObject({ username: 'abc def 1', tags: ['t1', 't2'] });
        const service = multipart([
          ['name', 'mp'],
          ['host', 'mp.internal'],
          ['port', '8081'],
          ['enabled', 'false'],
        ]);
        const s = await call('POST', '/services', service.body, { 'content-type': service.type });
        expect(s.status, s.text).toBe(201);
        expect(s.body).toMatchObject({ name: 'mp', port: 8081, enabled: false });
        const patch = multipart([['retries', '3']]);
        const p = await call('PATCH', '/services/mp', patch.body, { 'content-type': patch.type });
        expect(p.status, p.text).toBe(200);
        expect(p.body.retries).toBe(3);
        const file = multipart([['custom_id', 'from-a-file', { file: 'id.txt' }]]);
        const f = await call('POST', '/consumers', file.body, { 'content-type': file.type });
        expect(f.status, f.text).toBe(201);
        expect(f.body.custom_id).toBe('from-a-file');
      });

      it('multipart bodies pass the input policy, and a malformed one is a 400', async () => {
        const proto = multipart([
          ['username', 'x'],
          ['__proto__.polluted', 'yes'],
        ]);
        const r = await call('POST', '/consumers', proto.body, { 'content-type': proto.type });
        expect(r.status).toBe(400);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        const bad = await call('POST', '/consumers', 'not multipart at all', {
          'content-type': 'multipart/form-data; boundary=zzz',
        });
        expect(bad.status).toBe(400);
        expect(bad.body).toEqual({ message: 'Cannot parse multipart body' });
      });
    });
  });
}

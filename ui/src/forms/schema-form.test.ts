import { describe, expect, it } from 'vitest';
import { entityFields, initialValues, toPayload, type Schema } from './schema-form';

// An entity with a nested record of each field kind (the shape of an upstream's `healthchecks` or a
// plugin's `config` in /schemas/…), a foreign key and a set left out of the form.
const schema: Schema = {
  fields: [
    { consumer: { type: 'foreign' } },
    { protocols: { type: 'set', elements: { type: 'string', one_of: ['http', 'https'] } } },
    {
      config: {
        type: 'record',
        required: true,
        fields: [
          { key_names: { type: 'array', elements: { type: 'string' }, required: true, default: ['apikey'] } },
          { hide_credentials: { type: 'boolean', required: true, default: false } },
          { anonymous: { type: 'string', description: 'A consumer id or username.' } },
          { policy: { type: 'string', one_of: ['local', 'redis'], default: 'local' } },
          { minute: { type: 'integer' } },
          { codes: { type: 'array', elements: { type: 'integer' } } },
          { methods: { type: 'set', elements: { type: 'string', one_of: ['GET', 'POST'] } } },
          { headers: { type: 'map', keys: { type: 'string' } } as never },
          {
            redis: {
              type: 'record',
              fields: [{ host: { type: 'string' } }, { port: { type: 'integer', default: 6379 } }],
            },
          },
        ],
      },
    },
  ],
};

describe('schema-to-form generation', () => {
  const fields = entityFields(schema, { omit: ['consumer', 'protocols'] });
  const config = fields[0]!.children!;

  it('makes one control per record field, of the kind its type asks for, with dotted paths', () => {
    expect(fields.map((f) => [f.path, f.kind])).toEqual([['config', 'record']]);
    const flat = config.flatMap((f) => (f.children ? [f, ...f.children] : [f]));
    expect(flat.map((f) => [f.path, f.kind])).toEqual([
      ['config.key_names', 'list'],
      ['config.hide_credentials', 'boolean'],
      ['config.anonymous', 'text'],
      ['config.policy', 'select'],
      ['config.minute', 'integer'],
      ['config.codes', 'list'],
      ['config.methods', 'multiselect'],
      ['config.headers', 'json'],
      ['config.redis', 'record'],
      ['config.redis.host', 'text'],
      ['config.redis.port', 'integer'],
    ]);
    expect(config.find((f) => f.path === 'config.policy')?.options).toEqual(['local', 'redis']);
    expect(config.find((f) => f.path === 'config.key_names')?.required).toBe(true);
  });

  it('starts from the defaults, or from the entity being edited', () => {
    expect(initialValues(fields)).toMatchObject({
      'config.key_names': 'apikey',
      'config.hide_credentials': false,
      'config.policy': 'local',
      'config.redis.port': '6379',
      'config.methods': [],
    });
    const edited = initialValues(fields, { config: { key_names: ['a', 'b'], hide_credentials: true } });
    expect(edited['config.key_names']).toBe('a\nb');
    expect(edited['config.hide_credentials']).toBe(true);
  });

  it('builds the nested body the Admin API takes, leaving empty optional fields out', () => {
    const values = initialValues(fields);
    values['config.key_names'] = 'apikey, x-key\nother';
    values['config.minute'] = '5';
    values['config.codes'] = '200\n201';
    values['config.methods'] = ['GET'];
    values['config.headers'] = '{"a":"b"}';
    const { body, errors } = toPayload(fields, values);
    expect(errors).toEqual({});
    expect(body).toEqual({
      config: {
        key_names: ['apikey', 'x-key', 'other'],
        hide_credentials: false,
        policy: 'local',
        minute: 5,
        codes: [200, 201],
        methods: ['GET'],
        headers: { a: 'b' },
        redis: { port: 6379 },
      },
    });
  });

  it('names the field whose text cannot be sent as its type', () => {
    const values = initialValues(fields);
    values['config.minute'] = '1.5';
    values['config.codes'] = '200\nabc';
    values['config.headers'] = '{nope';
    expect(toPayload(fields, values).errors).toEqual({
      'config.minute': 'expected an integer',
      'config.codes': 'expected numbers',
      'config.headers': 'expected JSON',
    });
  });

  it('ignores a field named __proto__ rather than polluting the body', () => {
    const hostile: Schema = {
      fields: [{ config: { type: 'record', fields: [JSON.parse('{"__proto__":{"type":"string"}}')] } }],
    };
    const f = entityFields(hostile);
    expect(f[0]?.children).toEqual([]);
    expect(({} as Record<string, unknown>).type).toBeUndefined();
  });
});

describe('entity forms from /schemas/{entity}', () => {
  // The shape /schemas/basicauth_credentials and /schemas/routes answer (trimmed).
  const entity: Schema = {
    fields: [
      { id: { type: 'string', uuid: true, auto: true } },
      { created_at: { type: 'integer', timestamp: true, auto: true } },
      { consumer: { type: 'foreign', reference: 'consumers', required: true } },
      { service: { type: 'foreign', reference: 'services' } },
      { username: { type: 'string', required: true } },
      { password: { type: 'string', required: true, encrypted: true } },
      { key: { type: 'string', auto: true, required: true } },
      { tags: { type: 'set', elements: { type: 'string' } } },
    ],
  };

  it('leaves out ids and timestamps and the omitted fields; foreign keys and secrets get their controls', () => {
    const fields = entityFields(entity, { omit: ['consumer'] });
    expect(fields.map((f) => [f.path, f.kind])).toEqual([
      ['service', 'foreign'],
      ['username', 'text'],
      ['password', 'text'],
      ['key', 'text'],
      ['tags', 'list'],
    ]);
    expect(fields.find((f) => f.path === 'service')?.reference).toBe('services');
    expect(fields.find((f) => f.path === 'password')?.secret).toBe(true);
    // Generated by the server when left empty: not required in the form.
    expect(fields.find((f) => f.path === 'key')?.required).toBe(false);
  });

  it('sends a foreign key as {id}, and when editing only what changed (an emptied field as null)', () => {
    const fields = entityFields(entity, { omit: ['consumer'] });
    const stored = { id: 'c1', service: { id: 's-1' }, username: 'bob', password: 'hashed', tags: ['a'] };
    const initial = initialValues(fields, stored);
    expect(initial.service).toBe('s-1');
    expect(toPayload(fields, initial).body).toMatchObject({ service: { id: 's-1' }, username: 'bob' });
    const edited = { ...initial, username: 'robert', tags: '' };
    expect(toPayload(fields, edited, initial)).toEqual({
      body: { username: 'robert', tags: null },
      errors: {},
    });
    expect(toPayload(fields, initial, initial).body).toEqual({});
  });
});

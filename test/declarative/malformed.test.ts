import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { declarativeProblems, isGatehouseError } from '@gatehouse/shared';
import { importDeclarative } from '../../control-plane/src/declarative/index.js';
import { DB_KINDS } from '../helpers/db.js';
import { dbState, openStore, readCorpus, type StoreFixture } from './helpers.js';

const HEAD = '_format_version: "3.0"\n';

/** [case, file text, error code, expected "path: message" (substring match)] */
const CASES: [string, string, string, string][] = [
  [
    'bad YAML',
    `${HEAD}services:\n  - name: a\n   host: b\n`,
    'GH_ERR_DECLARATIVE_SYNTAX',
    'line 4, column 1: invalid YAML',
  ],
  ['duplicate YAML keys', `${HEAD}services: []\nservices: []\n`, 'GH_ERR_DECLARATIVE_SYNTAX', 'unique'],
  ['bad JSON', '{"_format_version": "3.0", "services": [}', 'GH_ERR_DECLARATIVE_SYNTAX', 'invalid JSON'],
  [
    'missing _format_version',
    'services: []\n',
    'GH_ERR_DECLARATIVE_INVALID',
    '_format_version: required field missing',
  ],
  [
    'Kong 2.x _format_version',
    '_format_version: "2.1"\n',
    'GH_ERR_DECLARATIVE_INVALID',
    '_format_version: "2.1" is a Kong 1.x/2.x format',
  ],
  [
    'unquoted _format_version',
    '_format_version: 3.0\n',
    'GH_ERR_DECLARATIVE_INVALID',
    '_format_version: expected the string "3.0"',
  ],
  [
    'dangling route service',
    `${HEAD}routes:\n  - name: r\n    service: ghost\n    paths: [/x]\n`,
    'GH_ERR_DECLARATIVE_INVALID',
    "routes[0].service: invalid reference 'service: ghost' (no such entry in 'services')",
  ],
  [
    'dangling credential consumer',
    `${HEAD}keyauth_credentials:\n  - consumer: nobody\n    key: k\n`,
    'GH_ERR_DECLARATIVE_INVALID',
    "keyauth_credentials[0].consumer: invalid reference 'consumer: nobody'",
  ],
  [
    'dangling group member',
    `${HEAD}consumer_groups:\n  - name: g\n    consumers:\n      - username: nobody\n`,
    'GH_ERR_DECLARATIVE_INVALID',
    "consumer_groups[0].consumers[0]: invalid reference 'consumer: nobody'",
  ],
  [
    'duplicate service names',
    `${HEAD}services:\n  - name: a\n    host: a.internal\n  - name: a\n    host: b.internal\n`,
    'GH_ERR_DECLARATIVE_INVALID',
    "services[1]: uniqueness violation: 'services' entity with name set to 'a' already declared (at services[0])",
  ],
  [
    'duplicate key-auth keys across consumers',
    `${HEAD}consumers:\n  - username: a\n    keyauth_credentials: [{key: k}]\n  - username: b\n    keyauth_credentials: [{key: k}]\n`,
    'GH_ERR_DECLARATIVE_INVALID',
    "consumers[1].keyauth_credentials[0]: uniqueness violation: 'keyauth_credentials' entity with key set to 'k'",
  ],
  [
    'nested route path without slash',
    `${HEAD}services:\n  - name: s\n    host: s.internal\n    routes:\n      - paths: [/ok, nope]\n`,
    'GH_ERR_DECLARATIVE_INVALID',
    'services[0].routes[0].paths[1]:',
  ],
  [
    'wrong type',
    `${HEAD}services:\n  - name: s\n    host: s.internal\n    port: eighty\n`,
    'GH_ERR_DECLARATIVE_INVALID',
    'services[0].port: expected an integer',
  ],
  [
    'plugin config field',
    `${HEAD}plugins:\n  - name: key-auth\n    config:\n      key_names: 5\n`,
    'GH_ERR_DECLARATIVE_INVALID',
    'plugins[0].config.key_names',
  ],
  ['unknown top-level key', `${HEAD}servicez: []\n`, 'GH_ERR_DECLARATIVE_INVALID', 'servicez: unknown field'],
  [
    'unsupported entity',
    `${HEAD}partials:\n  - name: my-redis\n    type: redis-ee\n`,
    'GH_ERR_DECLARATIVE_UNSUPPORTED',
    "partials: 'partials' entities are not supported by Gatehouse",
  ],
  [
    'unsupported plugin',
    `${HEAD}plugins:\n  - name: rate-limiting-advanced\n`,
    'GH_ERR_DECLARATIVE_UNSUPPORTED',
    "plugins[0].name: plugin 'rate-limiting-advanced' is not available in Gatehouse",
  ],
  [
    'unsupported field',
    `${HEAD}routes:\n  - name: r\n    paths: [/x]\n    expression: http.path == "/x"\n`,
    'GH_ERR_DECLARATIVE_UNSUPPORTED',
    "routes[0].expression: field 'expression' is not supported by Gatehouse",
  ],
];

describe.each(DB_KINDS)('malformed declarative files on %s', (kind) => {
  let fx: StoreFixture;
  beforeAll(async () => {
    fx = await openStore(kind);
    await importDeclarative(fx.store, readCorpus('15-auth-proxy.yaml'), { plugins: fx.plugins });
  });
  afterAll(async () => {
    await fx?.db.drop();
  });

  it.each(CASES)('%s: names the path and changes nothing', async (_name, text, code, expected) => {
    const before = await dbState(fx.store);
    let error: unknown;
    try {
      await importDeclarative(fx.store, text, { filename: 'bad.yaml', plugins: fx.plugins });
    } catch (e) {
      error = e;
    }
    expect(isGatehouseError(error)).toBe(true);
    if (!isGatehouseError(error)) return;
    expect(error.code).toBe(code);
    const lines = declarativeProblems(error).map((p) => `${p.path}: ${p.message}`);
    expect(
      lines.some((l) => l.includes(expected)),
      lines.join('\n'),
    ).toBe(true);
    expect(error.message).toContain('bad.yaml');
    expect(await dbState(fx.store)).toEqual(before);
  });

  it('a file mixing good entities with one bad reference applies none of them', async () => {
    const before = await dbState(fx.store);
    const text = `${HEAD}services:\n  - name: fine\n    host: fine.internal\nroutes:\n  - service: fine\n    paths: [/ok]\n  - service: missing\n    paths: [/bad]\n`;
    await expect(importDeclarative(fx.store, text, { plugins: fx.plugins })).rejects.toThrow(
      /routes\[1\]\.service/,
    );
    expect(await dbState(fx.store)).toEqual(before);
  });

  it('with skipUnsupported, drops and lists unsupported entries and imports the rest', async () => {
    const text = `${HEAD}partials:\n  - name: my-redis\nservices:\n  - name: kept\n    host: kept.internal\n    plugins:\n      - name: rate-limiting-advanced\n`;
    const result = await importDeclarative(fx.store, text, { plugins: fx.plugins, skipUnsupported: true });
    expect(result.unsupported).toEqual([
      "partials: 'partials' entities are not supported by Gatehouse",
      "services[0].plugins[0].name: plugin 'rate-limiting-advanced' is not available in Gatehouse",
    ]);
    const { config } = await fx.store.readConfig();
    expect(config.services.map((s) => s.name)).toEqual(['kept']);
    expect(config.plugins).toEqual([]);
  });
});

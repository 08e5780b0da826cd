import { describe, expect, it } from 'vitest';
import { isGatehouseError } from '../errors.js';
import { declarativeProblems } from './errors.js';
import { fromConfig } from './export.js';
import { parseDeclarative } from './parse.js';
import { toConfig } from './resolve.js';
import { entityId, uuidv5 } from './uuid.js';

const H = '_format_version: "3.0"\n';
const resolve = (text: string, opts = {}) => toConfig(parseDeclarative(text), { now: 1, ...opts });

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    expect(isGatehouseError(e)).toBe(true);
    return declarativeProblems(e).map((p) => `${p.path}: ${p.message}`);
  }
  throw new Error('expected a declarative error');
}

describe('uuidv5', () => {
  it('matches RFC 4122 version-5 test vectors', () => {
    // uuid5(NAMESPACE_DNS, "python.org") from Python's uuid module
    expect(uuidv5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'python.org')).toBe(
      '886313e1-3b8a-5372-9b90-0c9aee199e5d',
    );
  });
  it('derives entity ids per entity kind', () => {
    expect(entityId('services', 'a')).not.toBe(entityId('routes', 'a'));
    expect(entityId('services', 'a')).toBe(entityId('services', 'a'));
  });
});

describe('parseDeclarative', () => {
  it('reads YAML and JSON', () => {
    expect(parseDeclarative(`${H}services: []`)).toEqual({ _format_version: '3.0', services: [] });
    expect(parseDeclarative('{"_format_version":"3.0"}', { filename: 'x.json' })).toEqual({
      _format_version: '3.0',
    });
  });
  it('refuses empty documents, scalars and several documents', () => {
    expect(() => parseDeclarative('')).toThrow(/empty/);
    expect(() => parseDeclarative('- a\n')).toThrow(/mapping/);
    expect(() => parseDeclarative(`${H}---\n${H}`)).toThrow(/one YAML document/);
  });
});

describe('toConfig', () => {
  it('resolves nested entities and gives the same ids for the same file', () => {
    const text = `${H}services:\n  - name: s\n    url: http://a.internal\n    routes:\n      - name: r\n        paths: [/r]\n`;
    const a = resolve(text).config;
    const b = resolve(text).config;
    expect(a).toEqual(b);
    expect(a.routes[0]!.service).toEqual({ id: a.services[0]!.id });
    expect(a.services[0]!.id).toBe(entityId('services', 's'));
  });

  it('gives nameless routes distinct stable ids', () => {
    const { config } = resolve(`${H}routes:\n  - paths: [/a]\n  - paths: [/a]\n`);
    expect(new Set(config.routes.map((r) => r.id)).size).toBe(2);
  });

  it('resolves flat references by name, by id and by record', () => {
    const { config } = resolve(
      `${H}services:\n  - name: s\n    id: 11111111-1111-4111-8111-111111111111\n    host: a\nroutes:\n  - service: s\n    paths: [/1]\n  - service: 11111111-1111-4111-8111-111111111111\n    paths: [/2]\n  - service: {name: s}\n    paths: [/3]\n`,
    );
    expect(config.routes.map((r) => r.service?.id)).toEqual(
      Array(3).fill('11111111-1111-4111-8111-111111111111'),
    );
  });

  it('turns consumer groups membership shorthands into memberships', () => {
    const { config } = resolve(
      `${H}consumer_groups:\n  - name: g\n    consumers: [{username: a}]\nconsumers:\n  - username: a\n  - username: b\n    groups: [g]\n`,
    );
    expect(config.consumer_group_consumers).toHaveLength(2);
  });

  it('names the path of every problem and keeps going', () => {
    expect(
      problems(() =>
        resolve(
          `${H}services:\n  - name: s\n    host: a\n    port: x\n    routes:\n      - paths: [/ok, bad]\n        service: s\n`,
        ),
      ),
    ).toEqual([
      'services[0].routes[0].service: value must be null (a nested route belongs to the enclosing service)',
      'services[0].port: expected an integer',
      expect.stringMatching(/^services\[0\]\.routes\[0\]\.paths\[1\]: /),
    ]);
  });

  it('handles _comment, _transform and _workspace as Kong', () => {
    expect(() => resolve(`${H}_comment: hi\n_transform: true\n_workspace: default\n`)).not.toThrow();
    expect(problems(() => resolve(`${H}_workspace: team-a\n`))).toEqual([
      "_workspace: workspaces are not supported (only 'default'; got team-a)",
    ]);
    expect(
      problems(() =>
        resolve(
          `${H}_transform: false\nconsumers:\n  - username: a\n    basicauth_credentials:\n      - username: a\n        password: clear\n`,
        ),
      ),
    ).toEqual([
      "consumers[0].basicauth_credentials[0].password: with '_transform: false' the password must be a Gatehouse scrypt hash ($scrypt$N$r$p$salt$hash)",
    ]);
  });

  it('hashes clear basic-auth passwords and keeps hashes', () => {
    const r = resolve(
      `${H}consumers:\n  - username: a\n    basicauth_credentials:\n      - username: a\n        password: clear\n`,
    );
    const hash = r.config.basicauth_credentials[0]!.password;
    expect(hash).toMatch(/^\$scrypt\$/);
    expect(r.clearPasswords.get(r.config.basicauth_credentials[0]!.id)).toBe('clear');
    const kept = resolve(
      `${H}consumers:\n  - username: a\n    basicauth_credentials:\n      - username: a\n        password: "${hash}"\n`,
    );
    expect(kept.config.basicauth_credentials[0]!.password).toBe(hash);
  });

  it('lists generated secrets so an import can keep stored ones', () => {
    const r = resolve(`${H}consumers:\n  - username: a\n    keyauth_credentials: [{}]\n`);
    expect(r.generated).toEqual([
      { kind: 'keyauth_credentials', id: r.config.keyauth_credentials[0]!.id, field: 'key' },
    ]);
  });

  it('reports unsupported plugins through the registry, or drops them with skipUnsupported', () => {
    const registry = {
      has: (n: string) => n === 'cors',
      validateConfig: (_n: string, c: unknown) => c as Record<string, unknown>,
    };
    const text = `${H}plugins:\n  - name: cors\n  - name: rate-limiting-advanced\n`;
    expect(problems(() => resolve(text, { plugins: registry }))).toEqual([
      "plugins[1].name: plugin 'rate-limiting-advanced' is not available in Gatehouse",
    ]);
    const skipped = resolve(text, { plugins: registry, skipUnsupported: true });
    expect(skipped.config.plugins.map((p) => p.name)).toEqual(['cors']);
    expect(skipped.unsupported).toHaveLength(1);
  });
});

describe('fromConfig', () => {
  it('nests children, omits timestamps and nulls, and round-trips', () => {
    const text = `${H}services:\n  - name: s\n    host: a\n    routes:\n      - name: r\n        paths: [/r]\n        plugins:\n          - name: cors\n`;
    const out = fromConfig(resolve(text).config);
    expect(out).toContain('routes:\n      - https_redirect_status_code: 426\n');
    expect(out).not.toContain('created_at');
    expect(out).not.toContain('null');
    expect(fromConfig(resolve(out).config)).toBe(out);
    const json = fromConfig(resolve(text).config, { format: 'json' });
    expect(fromConfig(resolve(json).config, { format: 'json' })).toBe(json);
  });
});

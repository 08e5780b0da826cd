import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromConfig, parseDeclarative, toConfig } from '@gatehouse/shared';
import { importDeclarative } from '../../control-plane/src/declarative/index.js';
import { DB_KINDS } from '../helpers/db.js';
import { corpusFiles, dbState, openStore, plugins, readCorpus, type StoreFixture } from './helpers.js';

const files = corpusFiles();

describe('declarative corpus', () => {
  it('holds at least 15 files, YAML and JSON', () => {
    expect(files.length).toBeGreaterThanOrEqual(15);
    expect(files.some((f) => f.endsWith('.json'))).toBe(true);
    expect(files.some((f) => f.endsWith('.yaml'))).toBe(true);
  });

  it.each(files)(
    '%s validates and its export round-trips byte-identical without a database',
    async (file) => {
      const registry = await plugins();
      const resolved = toConfig(parseDeclarative(readCorpus(file), { filename: file }), {
        plugins: registry,
      });
      expect(resolved.unsupported).toEqual([]);
      const exported = fromConfig(resolved.config);
      const again = fromConfig(toConfig(parseDeclarative(exported), { plugins: registry }).config);
      expect(again).toBe(exported);
    },
  );

  it('covers every entity kind of the model', async () => {
    const registry = await plugins();
    const kinds = new Set<string>();
    for (const file of files) {
      const { config } = toConfig(parseDeclarative(readCorpus(file), { filename: file }), {
        plugins: registry,
      });
      for (const [kind, list] of Object.entries(config)) if ((list as unknown[]).length) kinds.add(kind);
    }
    expect([...kinds].sort()).toEqual(Object.keys(toConfig({ _format_version: '3.0' }).config).sort());
  });
});

describe.each(DB_KINDS)('declarative import on %s', (kind) => {
  let fx: StoreFixture;
  beforeAll(async () => {
    fx = await openStore(kind);
  });
  afterAll(async () => {
    await fx?.db.drop();
  });

  // One database for the whole corpus: each import replaces the previous file's entities
  // (creates, updates, deletes), so every file also exercises the delete path.
  it.each(files)(
    '%s imports, re-imports with no change, and export -> import -> export is byte-identical',
    async (file) => {
      const text = readCorpus(file);
      const first = await importDeclarative(fx.store, text, { filename: file, plugins: fx.plugins });
      expect(first.changes.length).toBeGreaterThan(0);
      expect(first.version).not.toBeNull();

      const again = await importDeclarative(fx.store, text, { filename: file, plugins: fx.plugins });
      expect(again.changes.map((c) => c.label)).toEqual([]);

      const exported = (await dbState(fx.store)).text;
      const resolved = toConfig(parseDeclarative(text), { plugins: fx.plugins }).config;
      for (const [k, list] of Object.entries(resolved)) {
        const stored = (await fx.store.readConfig()).config[k as keyof typeof resolved];
        expect(stored.map((e) => e.id).sort(), k).toEqual((list as { id: string }[]).map((e) => e.id).sort());
      }
      const reimport = await importDeclarative(fx.store, exported, { plugins: fx.plugins });
      expect(reimport.changes.map((c) => c.label)).toEqual([]);
      expect((await dbState(fx.store)).text).toBe(exported);
    },
  );

  it('prints deletes, creates and updates entity by entity with names', async () => {
    await importDeclarative(fx.store, readCorpus('04-flat-references.yaml'), { plugins: fx.plugins });
    const edited = readCorpus('04-flat-references.yaml')
      .replace('port: 8081', 'port: 8082')
      .replace(/ {2}- name: no-service\n {4}paths: \[\/nowhere\]\n/, '')
      .replace('services:\n', 'services:\n  - name: added\n    host: added.internal\n');
    const dry = await importDeclarative(fx.store, edited, { plugins: fx.plugins, dryRun: true });
    expect(dry.version).toBeNull();
    expect(
      dry.changes.map((c) => `${c.action} ${c.label}${c.fields ? ` ${c.fields.join(',')}` : ''}`),
    ).toEqual(["delete route 'no-service'", "create service 'added'", "update service 'orders' port"]);
    const before = await dbState(fx.store);
    expect((await dbState(fx.store)).version).toBe(before.version);
    const applied = await importDeclarative(fx.store, edited, { plugins: fx.plugins });
    expect(applied.changes).toHaveLength(3);
    expect(applied.version).toBe(before.version + 1n);
  });

  it('keeps generated key-auth keys and matching password hashes on re-import', async () => {
    const text = `_format_version: "3.0"
consumers:
  - username: ivan
    keyauth_credentials:
      - tags: [generated]
    basicauth_credentials:
      - username: ivan
        password: clear-text-password
`;
    await importDeclarative(fx.store, text, { plugins: fx.plugins });
    const first = await fx.store.readConfig();
    const again = await importDeclarative(fx.store, text, { plugins: fx.plugins });
    expect(again.changes).toEqual([]);
    const second = await fx.store.readConfig();
    expect(second.config.keyauth_credentials[0]!.key).toBe(first.config.keyauth_credentials[0]!.key);
    expect(second.config.basicauth_credentials[0]!.password).toBe(
      first.config.basicauth_credentials[0]!.password,
    );
    expect(first.config.basicauth_credentials[0]!.password).toMatch(/^\$scrypt\$/);
    const changed = await importDeclarative(fx.store, text.replace('clear-text-password', 'new-password'), {
      plugins: fx.plugins,
    });
    expect(changed.changes.map((c) => `${c.action} ${c.label} ${c.fields?.join(',')}`)).toEqual([
      "update basicauth_credential 'ivan' of consumer 'ivan' password",
    ]);
  });
});

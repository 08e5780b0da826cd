/**
 * Issue 8 items 3 and 4 on `gatehouse config`: the declarative files it reads (validate, and
 * diff/import against the database) are refused with the path of what is wrong when they carry a
 * prototype key, a NUL character or an over-long name, and no prototype is written.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runConfigCommand } from '../../control-plane/src/config-cli.js';
import { expectPristinePrototypes } from '../admin/hostile-support.js';
import { createPostgresDatabase } from '../helpers/db.js';
import { plugins } from './helpers.js';

const FILES: [string, string, string][] = [
  ['__proto__ (JSON)', '{"_format_version":"3.0","__proto__":{"x":"y"}}', '__proto__: unknown field'],
  ['__proto__ (YAML)', '_format_version: "3.0"\n__proto__:\n  x: y\n', '__proto__: unknown field'],
  [
    'constructor.prototype in a plugin config',
    '_format_version: "3.0"\nplugins:\n  - name: cors\n    config:\n      constructor:\n        prototype:\n          x: y\n',
    'plugins[0].config.constructor: unknown field',
  ],
  [
    'a NUL character',
    '_format_version: "3.0"\nconsumers:\n  - username: "\\0"\n',
    'consumers[0].username: must not contain NUL',
  ],
  [
    'a 900 KiB name',
    JSON.stringify({ _format_version: '3.0', services: [{ name: 'A'.repeat(921_600), host: 'a.example' }] }),
    'services[0].name: length must be at most 255',
  ],
];

let dir: string;
let db: { url: string; drop(): Promise<void> };
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-cli-hostile-'));
  db = await createPostgresDatabase();
});
afterAll(async () => {
  await db?.drop();
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => expectPristinePrototypes());

async function cli(argv: string[]) {
  let err = '';
  const code = await runConfigCommand(argv, {
    stderr: (t) => (err += t),
    stdout: () => {},
    loadPlugins: () => plugins(),
  });
  return { code, err };
}

describe('gatehouse config under hostile files', () => {
  it.each(FILES)('validate refuses %s', async (name, text, problem) => {
    const file = join(dir, `${name.replace(/\W+/g, '-')}.yaml`);
    await writeFile(file, text);
    const r = await cli(['validate', file]);
    expect(r.code).toBe(1);
    expect(r.err.slice(0, 2000)).toContain(problem);
  });

  it.each(FILES)('diff and import against the database refuse %s', async (name, text, problem) => {
    const file = join(dir, `${name.replace(/\W+/g, '-')}.yaml`);
    await writeFile(file, text);
    for (const command of ['diff', 'import']) {
      const r = await cli([command, file, '--database-url', db.url]);
      expect(r.code).toBe(1);
      expect(r.err.slice(0, 2000)).toContain(problem);
    }
    const ok = join(dir, 'ok.yaml');
    await writeFile(ok, '_format_version: "3.0"\nconsumers:\n  - username: still-writes\n');
    expect((await cli(['import', ok, '--database-url', db.url])).code).toBe(0);
  });
});

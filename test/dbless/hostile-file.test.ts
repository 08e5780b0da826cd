/**
 * Issue 8 items 3 and 4 on the DB-less data plane: its declarative loader refuses a file with a
 * prototype key, a NUL character, an over-long name or too deep a nesting with the declarative
 * error naming the path (at boot: the DP does not start; on reload: the config served stays),
 * and never writes a prototype. The primary runs in this process, so the check sees its realm.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDataPlane, type DataPlane } from '@gatehouse/data-plane';
import { createLogger, isGatehouseError } from '@gatehouse/shared';
import { expectPristinePrototypes } from '../admin/hostile-support.js';
import { freePort } from '../dp/helpers/fixtures.js';

const logger = createLogger('dbless-hostile', { level: process.env.GATEHOUSE_TEST_LOG_LEVEL ?? 'silent' });

/** [case, file name, text, path named in the error] */
const FILES: [string, string, string, string][] = [
  [
    '__proto__ at the top (JSON)',
    'proto.json',
    '{"_format_version":"3.0","__proto__":{"x":"y"}}',
    '__proto__: unknown field',
  ],
  [
    '__proto__ at the top (YAML)',
    'proto.yaml',
    '_format_version: "3.0"\n__proto__:\n  x: y\n',
    '__proto__: unknown field',
  ],
  [
    'constructor.prototype in an entity',
    'ctor.yaml',
    '_format_version: "3.0"\nservices:\n  - name: s\n    host: s.example\n    constructor:\n      prototype:\n        x: y\n',
    'services[0].constructor: unknown field',
  ],
  [
    'a key named like an Object.prototype member',
    'tostring.yaml',
    '_format_version: "3.0"\ntoString:\n  - x: y\n',
    'toString: unknown field',
  ],
  [
    'a NUL character',
    'nul.yaml',
    '_format_version: "3.0"\nconsumers:\n  - username: "a\\0b"\n',
    'consumers[0].username: must not contain NUL characters',
  ],
  [
    'a 900 KiB name',
    'long.json',
    JSON.stringify({ _format_version: '3.0', services: [{ name: 'A'.repeat(921_600), host: 'a.example' }] }),
    'services[0].name: length must be at most 255',
  ],
  [
    'nesting 100 levels deep',
    'deep.json',
    `{"_format_version":"3.0","_comment":${'['.repeat(100)}${']'.repeat(100)}}`,
    'nested more than 64 levels deep',
  ],
];

const GOOD =
  '_format_version: "3.0"\nservices:\n  - name: s\n    host: s.example\n    routes:\n      - paths: [/s]\n';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-dbless-hostile-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));
afterEach(() => expectPristinePrototypes());

const start = async (file: string, dataDir: string) =>
  startDataPlane({
    declarativeFile: file,
    dataDir,
    workers: 1,
    proxyListen: { host: '127.0.0.1', port: await freePort() },
    statusListen: { host: '127.0.0.1', port: 0 },
    logger,
    drainTimeoutMs: 1_000,
  });

describe('DB-less loader under hostile files', () => {
  it.each(FILES)('does not start from a file with %s', async (_name, name, text, problem) => {
    const file = join(dir, name);
    await writeFile(file, text);
    const err = await start(file, join(dir, `data-${name}`)).catch((e: unknown) => e);
    expect(isGatehouseError(err), String(err)).toBe(true);
    expect(err).toMatchObject({ code: 'GH_ERR_DECLARATIVE_INVALID' });
    expect((err as Error).message.slice(0, 2000)).toContain(problem);
    expectPristinePrototypes();
  });

  describe('a running DB-less data plane', () => {
    let dp: DataPlane;
    let file: string;
    beforeAll(async () => {
      file = join(dir, 'kong.yaml');
      await writeFile(file, GOOD);
      dp = await start(file, join(dir, 'running'));
    }, 120_000);
    afterAll(async () => dp?.stop());

    it.each(FILES)(
      'refuses a reload to a file with %s and keeps serving',
      async (_name, _file, text, problem) => {
        await writeFile(file, text);
        const outcome = await dp.reload();
        expect(outcome).toMatchObject({ ok: false, code: 'GH_ERR_DECLARATIVE_INVALID' });
        expect(JSON.stringify(outcome).slice(0, 3000)).toContain(problem.replace(/"/g, '\\"'));
        expectPristinePrototypes();
        await writeFile(file, GOOD);
        expect(await dp.reload()).toMatchObject({ ok: true });
      },
    );
  });
});

import fc from 'fast-check';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseReference } from '@gatehouse/shared';
import { afterAll, describe, expect, it } from 'vitest';
import { fileBackend } from './file.js';

const base = mkdtempSync(path.join(tmpdir(), 'gh-file-vault-'));
const root = path.join(base, 'secrets');
mkdirSync(path.join(root, 'db'), { recursive: true });
writeFileSync(path.join(root, 'api-key'), 'k1\n');
writeFileSync(path.join(root, 'db', 'creds'), '{"password":"p"}');
writeFileSync(path.join(base, 'outside'), 'must not be read');
symlinkSync(path.join(base, 'outside'), path.join(root, 'escape'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('file vault backend', () => {
  const backend = fileBackend(root);

  it('reads a file of the folder (one trailing newline dropped), with the config prefix', async () => {
    expect(await backend.get({}, 'api-key', null)).toBe('k1');
    expect(await backend.get({}, 'db/creds', null)).toBe('{"password":"p"}');
    expect(await backend.get({ prefix: 'api-' }, 'key', null)).toBe('k1');
    expect(await backend.get({}, 'missing', null)).toBeNull();
  });

  it('refuses a symlink that leaves the folder, and paths that climb out', async () => {
    await expect(backend.get({}, 'escape', null)).rejects.toThrow('leaves the vault folder');
    await expect(backend.get({}, '../outside', null)).rejects.toThrow('leaves the vault folder');
    await expect(backend.get({}, '/etc/passwd', null)).rejects.toThrow('leaves the vault folder');
    await expect(backend.get({}, 'db', null)).rejects.toThrow('not a file');
  });

  it('is off without a folder', async () => {
    await expect(fileBackend(null).get({}, 'api-key', null)).rejects.toThrow('GATEHOUSE_VAULT_FILE_ROOT');
  });

  it('never reads outside its folder, whatever reference a hostile writer sends', async () => {
    const piece = fc.constantFrom(
      '..',
      '.',
      '/',
      '%2e%2e',
      '%2f',
      '%5c',
      'escape',
      'api-key',
      'db',
      'creds',
      '~',
      '%00',
      '\\',
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(piece, fc.string({ maxLength: 4 })), { maxLength: 8 }),
        async (parts) => {
          const parsed = parseReference(`{vault://file/${parts.join('')}}`);
          if (!parsed.ok) return;
          const { resource, key } = parsed.reference;
          const got = await backend
            .get({}, key === null ? resource : `${resource}/${key}`, null)
            .catch((e: Error) => e);
          expect(got).not.toBe('must not be read');
        },
      ),
      { numRuns: 500 },
    );
  });
});

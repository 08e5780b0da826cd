import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '@gatehouse/shared';
import { loadOrCreateNodeId, NODE_ID_FILE } from './node-id.js';

const logger = createLogger('test', { level: 'silent' });

describe('node id', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-nodeid-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is generated once, saved, and restored on the next start', async () => {
    const first = await loadOrCreateNodeId(dir, logger);
    expect(first).toMatch(/^[0-9a-f-]{36}$/);
    expect((await readFile(join(dir, NODE_ID_FILE), 'utf8')).trim()).toBe(first);
    expect(await loadOrCreateNodeId(dir, logger)).toBe(first);
  });

  it('is regenerated when the file does not hold a UUID', async () => {
    await writeFile(join(dir, NODE_ID_FILE), 'not-a-uuid\n');
    const id = await loadOrCreateNodeId(dir, logger);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(await loadOrCreateNodeId(dir, logger)).toBe(id);
  });
});

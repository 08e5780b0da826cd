import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger, emptyConfig } from '@gatehouse/shared';
import { WorkerPool } from './worker-pool.js';

// A file of its own: node:cluster fixes its scheduling policy at the first fork of the process.
const logger = createLogger('test', { level: 'silent' });

describe('WorkerPool of one worker', () => {
  let pool: WorkerPool | null = null;
  afterAll(async () => {
    await pool?.stop();
  });

  it('lets its worker accept connections itself: a new connection is served while the primary is busy', async () => {
    pool = new WorkerPool({
      size: 1,
      listen: { host: '127.0.0.1', port: 0 },
      logger,
      exec: fileURLToPath(new URL('./fixtures/echo-worker.ts', import.meta.url)),
      execArgv: ['--import', 'tsx'],
      drainTimeoutMs: 1_000,
    });
    await pool.start();
    await pool.apply(Buffer.from(JSON.stringify(emptyConfig())), { version: 1n, hash: 'h1' });
    // spawnSync blocks this (the primary's) event loop for the whole request: were the primary
    // the one accepting (round-robin), the connection would wait for it and time out.
    const client = spawnSync(
      process.execPath,
      [
        '-e',
        `require('node:http').get({ host: '127.0.0.1', port: ${pool.port}, path: '/', timeout: 3000 }, (r) => { r.resume(); r.on('end', () => process.exit(r.statusCode === 200 ? 0 : 1)); }).on('timeout', () => process.exit(2)).on('error', () => process.exit(3));`,
      ],
      { timeout: 10_000 },
    );
    expect(client.status).toBe(0);
  });
});

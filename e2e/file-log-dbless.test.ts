/**
 * A DB-less data plane (`gatehouse dp --config`, one worker) with a global file-log plugin and
 * its access log on stdout, stdout a pipe (as under a supervisor or the chaos runner), started
 * without vitest's NODE_PATH: every request is one JSON line in the file. It failed to apply the
 * config before (`Cannot find module 'pino-std-serializers'`, docs/chaos.md): the access log's
 * fstat of the piped stdout made Node stop following pnpm's symlinks (nodejs/node#51142).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDblessDp, startUpstream, tempDir, waitUntil, type Proc } from './helpers/processes.js';

describe('file-log in a DB-less data plane with the access log on a piped stdout', () => {
  const dir = tempDir('file-log-dbless');
  const logFile = join(dir, 'logs', 'requests.jsonl');
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let dp: { proc: Proc; proxy: string };

  beforeAll(async () => {
    upstream = await startUpstream();
    const file = join(dir, 'kong.yaml');
    writeFileSync(
      file,
      JSON.stringify({
        _format_version: '3.0',
        plugins: [{ name: 'file-log', config: { path: logFile } }],
        services: [{ name: 'echo', url: upstream.url, routes: [{ name: 'echo', paths: ['/echo'] }] }],
      }),
    );
    dp = await startDblessDp({
      file,
      dataDir: join(dir, 'dp'),
      args: ['--access-log', 'stdout'],
      // What plain node finds: vitest's NODE_PATH (pnpm's hoisted folder) hid the failure.
      env: { NODE_PATH: undefined },
    });
  });

  afterAll(async () => {
    await dp?.proc.stop();
    await upstream?.close();
  });

  it('writes one JSON line per request to the file', async () => {
    const paths = ['/echo/a', '/echo/b', '/echo/c'];
    for (const p of paths) await (await fetch(`${dp.proxy}${p}`)).arrayBuffer();
    const lines = () =>
      existsSync(logFile)
        ? readFileSync(logFile, 'utf8')
            .split('\n')
            .filter((l) => l !== '')
        : [];
    await waitUntil('file-log lines', async () => lines().length >= paths.length, 15_000).catch(
      (e: Error) => {
        throw new Error(
          `${e.message}: ${lines().length} lines\n--- dp output ---\n${dp.proc.output.slice(-3000)}`,
        );
      },
    );
    const entries = lines().map(
      (l) => JSON.parse(l) as { request: { uri: string }; response: { status: number } },
    );
    expect(entries.map((e) => [e.request.uri, e.response.status])).toEqual([
      ['/echo/a', 200],
      ['/echo/b', 200],
      ['/echo/c', 200],
    ]);
    expect(dp.proc.output).not.toContain('Cannot find module');
  });
});

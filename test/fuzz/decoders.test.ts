/**
 * Issue 15, fuzzer 3: the declarative loader and the snapshot decoder (decoders-driver.ts) run in
 * a child process whose heap is capped: an input that crashes the process, allocates without
 * bound (the cap ends it) or throws anything but the loader's own refusal fails this test. The
 * child gets the CI seed (GATEHOUSE_FC_SEED) and GATEHOUSE_FUZZ_RUNS (default 200 per decoder).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
/** Well above what the decoders need for the largest generated input (a few MiB). */
const HEAP_CAP_MB = 256;

function runDriver(): Promise<{
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', `--max-old-space-size=${HEAP_CAP_MB}`, path.join(here, 'decoders-driver.ts')],
      {
        cwd: root,
        env: {
          ...process.env,
          // The seed this run of the suite uses (pinned in CI, fresh locally).
          GATEHOUSE_FC_SEED: String(
            fc.readConfigureGlobal().seed ?? Date.now() ^ (Math.random() * 0x100000000),
          ),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

describe('decoder fuzzer: declarative loader and snapshot decoder under a heap cap', () => {
  it('no generated file, cache or snapshot crashes the process, exhausts the heap or throws outside the error table', async () => {
    const r = await runDriver();
    const what = `exit ${r.code} ${r.signal ?? ''}\n${r.stdout}\n${r.stderr.slice(-3000)}`;
    expect(r.signal, what).toBeNull();
    expect(r.code, what).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').pop()!), what).toMatchObject({ ok: true });
  }, 300_000);
});

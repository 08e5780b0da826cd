import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LineWriter } from './line-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'gh-line-writer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const counters = () => ({ sent: 0, dropped: 0, retried: 0 });
const linesOf = (file: string) => readFileSync(file, 'utf8').split('\n').slice(0, -1);

describe('LineWriter', () => {
  it('writes every line, in order, in batches; close writes what waits', async () => {
    const file = join(dir, 'a', 'b', 'ordered.log');
    const c = counters();
    const w = new LineWriter({ destination: file, counters: c, chunkBytes: 1000 });
    for (let i = 0; i < 5000; i++) {
      w.write(`line ${i} ${'x'.repeat(i % 50)}\n`);
      if (i % 100 === 0) await new Promise((r) => setImmediate(r));
    }
    await w.close();
    const lines = linesOf(file);
    expect(lines).toHaveLength(5000);
    lines.forEach((l, i) => expect(l.startsWith(`line ${i} `)).toBe(true));
    expect(c).toMatchObject({ sent: 5000, dropped: 0 });
    w.write('after close\n');
    expect(c.dropped).toBe(1);
  });

  it('takes lines as bytes copied at once (the caller reuses its buffer), one longer than a batch whole', async () => {
    const file = join(dir, 'bytes.log');
    const c = counters();
    const w = new LineWriter({ destination: file, counters: c, chunkBytes: 64 });
    const scratch = Buffer.alloc(1000);
    const lines = ['short', 'é'.repeat(100), 'x'.repeat(500), 'after'];
    for (const l of lines) {
      const n = scratch.write(l + '\n');
      w.writeBytes(scratch, n);
      scratch.fill(0x21); // reused: what was written must already be copied
    }
    await w.close();
    expect(linesOf(file)).toEqual(lines);
    expect(c).toMatchObject({ sent: 4, dropped: 0 });
  });

  it('writes a lone line after flushMs, without close', async () => {
    const file = join(dir, 'timer.log');
    const c = counters();
    const w = new LineWriter({ destination: file, counters: c, flushMs: 20 });
    w.write('one\n');
    await new Promise((r) => setTimeout(r, 10));
    for (let i = 0; i < 200 && c.sent === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(linesOf(file)).toEqual(['one']);
    await w.close();
  });

  it('holds at most maxBytes and counts the lines it drops', async () => {
    const file = join(dir, 'bounded.log');
    const c = counters();
    const w = new LineWriter({ destination: file, counters: c, maxBytes: 100, chunkBytes: 10_000 });
    for (let i = 0; i < 20; i++) w.write('0123456789\n'); // 11 bytes each, synchronously: 9 fit
    expect(c.dropped).toBe(11);
    await w.close();
    expect(linesOf(file)).toHaveLength(9);
    expect(c.sent).toBe(9);
  });

  it('counts every line as dropped when the file cannot be opened, and tells once', async () => {
    // A folder that is a file: mkdir fails (ENOTDIR/EEXIST), even for root.
    writeFileSync(join(dir, 'a-file'), '');
    const target = join(dir, 'a-file', 'x.log');
    const c = counters();
    const errors: Error[] = [];
    const w = new LineWriter({ destination: target, counters: c, onError: (e) => errors.push(e) });
    w.write('a\n');
    w.write('b\n');
    for (let i = 0; i < 100 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    w.write('c\n'); // after the failure: dropped at once, not held
    expect(c).toMatchObject({ sent: 0, dropped: 3 });
    await w.close();
    expect(errors).toHaveLength(1);
  });

  it('keeps lines whole when several processes write to one pipe (writes cut at PIPE_BUF)', () => {
    const child = join(dir, 'pipe-writer.mjs');
    const src = new URL('./line-writer.ts', import.meta.url).pathname;
    writeFileSync(
      child,
      `const { LineWriter } = await import(${JSON.stringify(src)});
       const id = process.argv[2];
       const w = new LineWriter({ destination: 'stdout', counters: { sent: 0, dropped: 0, retried: 0 } });
       // 'd' writes two bytes per character: a batch cut by characters would overrun PIPE_BUF.
       const pad = (id === 'd' ? 'é' : 'x').repeat(300);
       for (let i = 0; i < 4000; i++) w.write(id + ' ' + i + ' ' + pad + '\\n');
       await w.close();`,
    );
    // The four writers share the shell's stdout: one pipe, as a DP's workers share theirs.
    const out = execFileSync(
      'sh',
      ['-c', `for id in a b c d; do "${process.execPath}" --import tsx "${child}" $id & done; wait`],
      { maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
    );
    const lines = out.split('\n').slice(0, -1);
    const whole = /^([abc] \d+ x{300}|d \d+ é{300})$/;
    expect(lines.filter((l) => !whole.test(l))).toEqual([]);
    expect(lines).toHaveLength(16000);
  });

  it('writes what waits when the process exits without closing', () => {
    const file = join(dir, 'exit.log');
    const src = new URL('./line-writer.ts', import.meta.url).pathname;
    execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `import(${JSON.stringify(src)}).then(({ LineWriter }) => {
           const w = new LineWriter({ destination: ${JSON.stringify(file)}, counters: { sent: 0, dropped: 0, retried: 0 }, flushMs: 60000 });
           setTimeout(() => { for (let i = 0; i < 3; i++) w.write('bye ' + i + '\\n'); process.exit(0); }, 50);
         })`,
      ],
      { stdio: 'pipe' },
    );
    expect(linesOf(file)).toEqual(['bye 0', 'bye 1', 'bye 2']);
  });
});

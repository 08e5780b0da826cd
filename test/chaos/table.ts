/**
 * The chaos suite's report: one line per row (id, fault, what was measured, the figures, the
 * bounds, pass/fail), printed as a text table and written as JSON and Markdown.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RowResult } from './row.js';

function cells(r: RowResult): [string, string, string, string, string, string, string] {
  const join = (f: (x: RowResult['figures'][number]) => string) => r.figures.map(f).join('; ');
  return [
    r.id,
    r.fault,
    r.error === null ? join((f) => f.measured) : 'error',
    r.error === null ? join((f) => f.value) : r.error.split('\n')[0]!.slice(0, 200),
    join((f) => f.bound),
    r.pass ? 'pass' : 'FAIL',
    r.loadAverage.toFixed(2),
  ];
}

const HEAD = ['id', 'fault', 'measured', 'figure', 'bound', 'result', 'load average'] as const;

export function textTable(results: readonly RowResult[]): string {
  return results.map((r) => cells(r).join(' | ')).join('\n');
}

export function markdownTable(results: readonly RowResult[], title: string): string {
  const esc = (s: string) => s.replaceAll('|', '\\|');
  const lines = [
    `# ${title}`,
    '',
    `| ${HEAD.join(' | ')} |`,
    `| ${HEAD.map(() => '---').join(' | ')} |`,
    ...results.map((r) => `| ${cells(r).map(esc).join(' | ')} |`),
    '',
  ];
  return lines.join('\n');
}

/** Writes results.json and results.md under `dir`; returns the folder. */
export function writeResults(
  dir: string,
  results: readonly RowResult[],
  meta: Record<string, unknown>,
): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'results.json'), JSON.stringify({ ...meta, rows: results }, null, 2) + '\n');
  writeFileSync(
    join(dir, 'results.md'),
    markdownTable(results, `Chaos suite, ${String(meta.profile)} profile, ${String(meta.startedAt)}`),
  );
  return dir;
}

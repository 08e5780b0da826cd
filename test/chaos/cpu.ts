/** CPU time of a process tree (Linux /proc), for rows and benches that report CPU beside wall time. */
import { readFileSync, readdirSync } from 'node:fs';

/**
 * user+system CPU ms of `pid` and of each of its descendants, parents first (Linux /proc; clock
 * ticks of 10 ms).
 */
export function processCpuMs(pid: number): { pid: number; ms: number }[] {
  const out: { pid: number; ms: number }[] = [];
  const walk = (p: number) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push({ pid: p, ms: (Number(f[11]) + Number(f[12])) * 10 });
      for (const t of readdirSync(`/proc/${p}/task`)) {
        const kids = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').trim();
        for (const k of kids ? kids.split(' ') : []) walk(Number(k));
      }
    } catch {
      /* gone */
    }
  };
  walk(pid);
  return out;
}

/** user+system CPU ms of `pid` and its descendants. */
export function treeCpuMs(pid: number): number {
  return processCpuMs(pid).reduce((sum, p) => sum + p.ms, 0);
}

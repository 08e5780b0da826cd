/**
 * Memory of a data plane's worker processes, read from Linux's /proc: the tests that send 50 MiB
 * bodies through a DP check its workers' resident set grew by less than a bound while the body
 * passed (issue 10: "a 50 MiB body (no crash, bounded memory)").
 *
 * The peak is the kernel's VmHWM (high-water mark of the resident set), reset to the current
 * resident set before the measured work (`echo 5 > /proc/<pid>/clear_refs`, Linux 4.0+): a
 * short spike the test could not catch by polling still counts. Where the reset is refused, the
 * growth is the peak since the process started minus the resident set before the work (an upper
 * bound: never lower than the truth, so a bound met this way holds).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

export const MiB = 1024 * 1024;

/**
 * What a worker's resident set may grow by beyond the buffers a test configured, while a large
 * body streams through it: chunks already passed on but not yet collected (V8 forces a collection
 * once external memory such as Buffers grew by its 64 MiB soft limit), plus 8 MiB for socket
 * buffers and heap. Measured while 50 MiB passed: up to 51 MiB, through a route with no plugin
 * as through the transformers; a body held twice (100 MiB) is over the bounds built on it.
 */
export const MEMORY_SLACK = 72 * MiB;

/** The pids whose parent is `parent` (a DP primary's cluster workers). */
export function childPids(parent: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === parent) out.push(Number(entry));
  }
  return out;
}

/** VmRSS and VmHWM of `pid`, in bytes. */
export function residentSet(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
    return Number(m[1]) * 1024;
  };
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

export interface PeakGrowth {
  /** The largest growth of one worker's resident set during the work (bytes). */
  readonly max: number;
  /** Per worker pid: resident set before, peak during (bytes). */
  readonly workers: Record<number, { before: number; peak: number }>;
}

/**
 * Runs `work` and answers how far each of the DP's worker processes (children of `primaryPid`)
 * grew its resident set meanwhile, at its peak.
 */
export async function peakGrowthOf(primaryPid: number, work: () => Promise<void>): Promise<PeakGrowth> {
  const pids = childPids(primaryPid);
  if (pids.length === 0) throw new Error(`no worker processes under pid ${primaryPid}`);
  const before = new Map<number, number>();
  for (const pid of pids) {
    resetPeak(pid);
    before.set(pid, residentSet(pid).rss);
  }
  await work();
  const workers: Record<number, { before: number; peak: number }> = {};
  let max = 0;
  for (const pid of pids) {
    const b = before.get(pid)!;
    let peak: number;
    try {
      peak = residentSet(pid).peak;
    } catch {
      throw new Error(`worker ${pid} exited during the measured work (crashed?)`);
    }
    workers[pid] = { before: b, peak };
    max = Math.max(max, peak - b);
  }
  return { max, workers };
}

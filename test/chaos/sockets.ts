/**
 * The TCP sockets a process tree holds towards some ports, from `ss -tanpH` (iproute2): every
 * state, each socket with the pids that hold it. A data plane is a primary and its workers
 * (cluster children), so the tree is the primary's pid and its descendants, read from /proc.
 * Used by F17 to count a data plane's upstream connections (its undici pools) after a fault.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** `pid` and every process descended from it. */
export function processTree(pid: number): Set<number> {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // pid (comm) state ppid …; comm may hold spaces and parentheses: split after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(name));
    children.set(ppid, list);
  }
  const tree = new Set<number>([pid]);
  const pending = [pid];
  while (pending.length > 0) {
    for (const c of children.get(pending.pop()!) ?? []) {
      if (!tree.has(c)) {
        tree.add(c);
        pending.push(c);
      }
    }
  }
  return tree;
}

export interface HeldSocket {
  readonly state: string;
  readonly local: string;
  readonly peer: string;
  readonly peerPort: number;
  readonly pids: readonly number[];
}

/** The TCP sockets (any state) held by a process of `pids` whose peer port is one of `ports`. */
export async function socketsTo(pids: ReadonlySet<number>, ports: readonly number[]): Promise<HeldSocket[]> {
  const { stdout: out } = await run('ss', ['-tanpH'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const wanted = new Set(ports);
  const held: HeldSocket[] = [];
  for (const line of out.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 6) continue;
    const [state, , , local, peer] = cols as [string, string, string, string, string];
    const peerPort = Number(peer.slice(peer.lastIndexOf(':') + 1));
    if (!wanted.has(peerPort)) continue;
    const owners = [...line.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
    if (!owners.some((p) => pids.has(p))) continue;
    held.push({ state, local, peer, peerPort, pids: owners });
  }
  return held;
}

/** Counts by state ("ESTAB 12, CLOSE-WAIT 1"), for a row's log. */
export function byState(sockets: readonly HeldSocket[]): string {
  const n = new Map<string, number>();
  for (const s of sockets) n.set(s.state, (n.get(s.state) ?? 0) + 1);
  return [...n].map(([state, c]) => `${state} ${c}`).join(', ') || 'none';
}

/**
 * A network namespace for a chaos row (root only): `ip netns add`, a veth pair with one end in
 * it, addresses on a private /30 the suite picks (10.213.N.0/30: `.1` on the host end, `.2` in
 * the namespace), and a black-hole of the pair (`tc`). Everything it creates it removes in `remove()`,
 * and at the process's exit if a row died before that (removing the namespace removes the pair).
 * No traffic leaves the machine: the pair's two ends are the only hosts on its /30.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

const live = new Set<NetNs>();
let hooked = false;

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export class NetNs {
  private removed = false;

  private constructor(
    /** The namespace's name. */
    readonly name: string,
    /** The veth end on the host (root namespace). */
    readonly hostIf: string,
    /** The veth end in the namespace. */
    readonly nsIf: string,
    /** The host end's address. */
    readonly hostIp: string,
    /** The namespace end's address. */
    readonly nsIp: string,
  ) {}

  /** Creates the namespace and its pair; `tag` (≤ 4 characters) tells rows apart in names. */
  static create(tag: string): NetNs {
    if (process.getuid?.() !== 0) throw new Error('network namespaces need root');
    const used = ip('-o', '-4', 'addr', 'show');
    let n = Math.floor(Math.random() * 250);
    while (used.includes(`10.213.${n}.`)) n = (n + 1) % 250;
    const id = `${tag}${process.pid % 10000}`;
    const ns = new NetNs(`gh-chaos-${id}`, `ghc${id}h`, `ghc${id}n`, `10.213.${n}.1`, `10.213.${n}.2`);
    if (!hooked) {
      hooked = true;
      process.once('exit', () => {
        for (const x of live) x.remove();
      });
    }
    live.add(ns);
    try {
      ip('netns', 'add', ns.name);
      ip('link', 'add', ns.hostIf, 'type', 'veth', 'peer', 'name', ns.nsIf);
      ip('link', 'set', ns.nsIf, 'netns', ns.name);
      ip('addr', 'add', `${ns.hostIp}/30`, 'dev', ns.hostIf);
      ip('link', 'set', ns.hostIf, 'up');
      ns.exec('ip', 'addr', 'add', `${ns.nsIp}/30`, 'dev', ns.nsIf);
      ns.exec('ip', 'link', 'set', ns.nsIf, 'up');
      ns.exec('ip', 'link', 'set', 'lo', 'up');
    } catch (err) {
      ns.remove();
      throw err;
    }
    return ns;
  }

  /** Runs a command in the namespace; its stdout. */
  exec(cmd: string, ...args: string[]): string {
    return ip('netns', 'exec', this.name, cmd, ...args);
  }

  /** Starts a process in the namespace (`ip netns exec` execs it: the child's pid is the process's). */
  spawn(cmd: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
    return spawn('ip', ['netns', 'exec', this.name, cmd, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  /**
   * Black-holes the pair (on) or heals it (off): every packet either end sends is dropped, with
   * no RST and no ICMP. `tc … netem loss 100%` on both ends where the kernel has netem; without
   * it (no `sch_netem`, as on the box these rows were written on) `pfifo limit 0`, a queue that
   * takes nothing: each packet is dropped as it is queued, the same silence. Returns the qdisc used.
   */
  blackHole(on: boolean): string {
    const ends = [
      (...a: string[]) => execFileSync('tc', a, { stdio: ['ignore', 'pipe', 'pipe'] }),
      (...a: string[]) => this.exec('tc', ...a),
    ];
    const devs = [this.hostIf, this.nsIf];
    if (!on) {
      ends.forEach((run, i) => run('qdisc', 'del', 'dev', devs[i]!, 'root'));
      return 'none';
    }
    for (const qdisc of [
      ['netem', 'loss', '100%'],
      ['pfifo', 'limit', '0'],
    ]) {
      try {
        ends.forEach((run, i) => run('qdisc', 'replace', 'dev', devs[i]!, 'root', ...qdisc));
        return qdisc.join(' ');
      } catch {
        // this kernel lacks it: the next
      }
    }
    throw new Error('neither netem nor pfifo can be set on the veth pair');
  }

  /** Removes the namespace (and so the pair); safe to call twice. */
  remove(): void {
    if (this.removed) return;
    this.removed = true;
    live.delete(this);
    for (const args of [
      ['netns', 'del', this.name],
      ['link', 'del', this.hostIf],
    ]) {
      try {
        ip(...args);
      } catch {
        // already gone
      }
    }
  }
}

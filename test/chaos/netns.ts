/**
 * A network namespace for a chaos row (root only): `ip netns add`, a veth pair with one end in
 * it, addresses on a private /30 the suite picks (10.213.N.0/30: `.1` on the host end, `.2` in
 * the namespace), and `tc netem` on either end. Everything it creates it removes in `remove()`,
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
   * `tc netem` with `spec` (e.g. ['loss', '100%']) on both ends of the pair, so nothing crosses
   * either way; null removes it.
   */
  netem(spec: string[] | null): void {
    for (const [run, dev] of [
      [(...a: string[]) => execFileSync('tc', a), this.hostIf],
      [(...a: string[]) => this.exec('tc', ...a), this.nsIf],
    ] as const) {
      if (spec === null) run('qdisc', 'del', 'dev', dev, 'root');
      else run('qdisc', 'replace', 'dev', dev, 'root', 'netem', ...spec);
    }
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

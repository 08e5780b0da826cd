// Supervision of `gatehouse dev`'s children: each one started, its output prefixed, restarted
// with backoff when it exits (while the others keep running), and all stopped together on
// Ctrl-C / SIGTERM / SIGHUP — SIGTERM, then SIGKILL after a timeout, so no child is left behind.
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Restart delays: 0.5 s, doubling, capped at 15 s; back to 0.5 s once a child stayed up 30 s. */
export const BACKOFF = { firstMs: 500, maxMs: 15_000, stableMs: 30_000 };
/** This many exits in a row, each within `stableMs` of starting, is reported as a crash loop. */
const CRASH_LOOP_AFTER = 3;
/** When to say a first start is slow (it keeps waiting: a first PGlite start can take minutes on a
 * busy machine); how long children get to stop. */
const SLOW_START_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

export const say = (line) => process.stderr.write(`[dev] ${line}\n`);
export const seconds = (ms) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function prefixLines(stream, tag, out) {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    buf += chunk;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      out.write(`${tag} ${buf.slice(0, i)}\n`);
      buf = buf.slice(i + 1);
    }
  });
  stream.on('end', () => {
    if (buf) out.write(`${tag} ${buf}\n`);
  });
}

/** Answers true once `url` answers a status `isReady` accepts; false when `alive()` turns false. */
async function waitReady(url, isReady, alive) {
  while (alive()) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await r.arrayBuffer();
      if (isReady(r.status)) return alive();
    } catch {
      /* not up yet */
    }
    await sleep(200);
  }
  return false;
}

/**
 * The children of one `gatehouse dev`. `add` registers a child by a function giving its command
 * line (called at every (re)start); `onReady(child)` runs each time a child answers ready.
 */
export class Supervisor {
  constructor({ onReady = () => {}, onStop = () => {} } = {}) {
    this.children = [];
    this.stopping = false;
    this.onReady = onReady;
    this.onStop = onStop;
    let signals = 0;
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
      process.on(sig, () => {
        // A second Ctrl-C while stopping: do not wait for the children any longer.
        if (++signals > 1 && this.stopping) {
          say(`${sig} again: killing the children`);
          for (const c of this.children) c.kill();
          process.exit(1);
        }
        void this.shutdown(0, sig);
      });
    }
  }

  add(name, label, command) {
    const c = new Supervised(this, name, label, command);
    this.children.push(c);
    return c;
  }

  async shutdown(code, reason) {
    if (this.stopping) return;
    this.stopping = true;
    const running = this.children.filter((c) => c.alive).map((c) => `${c.name} (pid ${c.child.pid})`);
    say(`stopping (${reason})${running.length ? `: ${running.join(', ')}` : ''}`);
    const clean = await Promise.all(this.children.map((c) => c.stop()));
    this.onStop();
    process.exit(clean.every(Boolean) ? code : 1);
  }

  /** Starts `c` and waits until it is ready (saying so every minute); false if it never was. */
  async firstStart(c) {
    const t = setInterval(() => {
      if (c.everReady || this.stopping) return;
      say(`still waiting for ${c.label} to answer at ${c.command().readyUrl} (Ctrl-C to give up)`);
    }, SLOW_START_MS);
    const ok = await c.start();
    clearInterval(t);
    return ok && !this.stopping;
  }
}

/**
 * One supervised child: started, prefixed, restarted with backoff when it exits while we are
 * not stopping. If it exits before it was ever ready (a start-up error — a port in use, a locked
 * data folder — that restarting would only repeat) everything is stopped.
 */
class Supervised {
  constructor(supervisor, name, label, command) {
    this.supervisor = supervisor;
    this.name = name;
    this.label = label;
    this.command = command;
    this.child = null;
    this.startedAt = 0;
    this.everReady = false;
    this.crashes = 0; // exits in a row, each within BACKOFF.stableMs of starting
    this.restarts = 0;
    this.timer = null;
    this.exited = Promise.resolve();
  }

  get alive() {
    return this.child !== null;
  }

  get pid() {
    return this.child?.pid ?? null;
  }

  start() {
    const { script, args: argv, env, readyUrl, isReady } = this.command();
    const child = spawn(process.execPath, ['--enable-source-maps', join(root, script), ...argv], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    this.child = child;
    this.startedAt = Date.now();
    const tag = `[${this.name}]`;
    prefixLines(child.stdout, tag, process.stdout);
    prefixLines(child.stderr, tag, process.stderr);
    say(`${this.name} started (pid ${child.pid})`);
    this.exited = new Promise((r) =>
      child.once('exit', (code, signal) => r(this.onExit(child, code, signal))),
    );
    const sv = this.supervisor;
    this.ready = waitReady(readyUrl, isReady, () => this.child === child && !sv.stopping).then((ok) => {
      if (!ok) return false;
      if (this.everReady) say(`${this.name} is back (pid ${child.pid}, after ${this.restarts} restart(s))`);
      this.everReady = true;
      sv.onReady(this);
      return true;
    });
    return this.ready;
  }

  onExit(child, code, signal) {
    if (this.child === child) this.child = null;
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    const sv = this.supervisor;
    if (sv.stopping) {
      say(`${this.name} stopped (${how})`);
      return;
    }
    const upMs = Date.now() - this.startedAt;
    say(`${this.name} (pid ${child.pid}) exited unexpectedly (${how}) after ${seconds(upMs)}`);
    if (!this.everReady) {
      say(`${this.label} failed to start (${how}); see its log above`);
      void sv.shutdown(1, `${this.name} failed to start`);
      return;
    }
    this.crashes = upMs >= BACKOFF.stableMs ? 1 : this.crashes + 1;
    const delay = Math.min(BACKOFF.firstMs * 2 ** (this.crashes - 1), BACKOFF.maxMs);
    if (this.crashes >= CRASH_LOOP_AFTER) {
      say(
        `${this.name} is crash-looping: ${this.crashes} exits in a row, each within ` +
          `${seconds(BACKOFF.stableMs)} of starting (see its log above); still restarting, ` +
          `next in ${seconds(delay)} (backoff capped at ${seconds(BACKOFF.maxMs)})`,
      );
    } else {
      const others =
        this.name === 'cp'
          ? ' (the data plane keeps serving)'
          : this.name.startsWith('cp-')
            ? ' (its data planes fail over to the other control planes and keep serving)'
            : '';
      say(`restarting ${this.name} in ${seconds(delay)}${others}`);
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      if (sv.stopping) return;
      this.restarts++;
      void this.start();
    }, delay);
  }

  /** Stops restarting, and the child if it runs: SIGTERM, then SIGKILL after STOP_TIMEOUT_MS. */
  async stop() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const child = this.child;
    if (!child) return true;
    child.kill('SIGTERM');
    let forced = false;
    const t = setTimeout(() => {
      forced = true;
      say(`${this.name} did not stop within ${seconds(STOP_TIMEOUT_MS)}; killing it`);
      child.kill('SIGKILL');
    }, STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(t);
    return !forced;
  }

  kill() {
    this.child?.kill('SIGKILL');
  }
}

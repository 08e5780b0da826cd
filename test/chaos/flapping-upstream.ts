/**
 * An upstream a chaos row can misbehave at will, in a child process (its CPU is not the load
 * generator's): it answers 200, and on the row's command resets every request's connection (RST,
 * `socket.resetAndDestroy()`), answers 2 s late, or stops listening. It counts what it saw: the
 * faults it injected, and every POST's `x-chaos-id`, so a POST that reached it twice (a retried
 * non-idempotent request) shows.
 *
 * Keep-alive: it tells its clients `Keep-Alive: timeout=3` (undici then keeps an idle connection
 * 2 s, the hint less its 1 s threshold) but keeps an idle connection open itself for 120 s, so a
 * connection still open some seconds after the load is one the client (the data plane's upstream
 * pool) holds and should have closed: F17 counts those as leaked.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

export type Mode = 'ok' | 'reset' | 'slow' | 'down';

/** The idle keep-alive the upstream advertises, in seconds (it keeps connections 120 s itself). */
export const ADVERTISED_KEEP_ALIVE_S = 3;

const SERVER = `
const ADVERTISED_KEEP_ALIVE_S = ${ADVERTISED_KEEP_ALIVE_S};
const http = require('http');
let mode = 'ok', faults = 0, port = 0;
const posts = new Map();
const server = http.createServer((q, r) => {
  r.setHeader('keep-alive', 'timeout=' + ADVERTISED_KEEP_ALIVE_S);
  if (q.method === 'POST') { const id = q.headers['x-chaos-id']; posts.set(id, (posts.get(id) || 0) + 1); }
  q.resume();
  if (mode === 'reset') { faults++; q.socket.resetAndDestroy(); return; }
  if (mode === 'slow') { faults++; setTimeout(() => r.end('ok'), 2000); return; }
  r.end('ok');
});
server.keepAliveTimeout = 120000;
server.listen(0, '127.0.0.1', () => { port = server.address().port; console.log(JSON.stringify({ port })); });
process.stdin.setEncoding('utf8');
let buf = '';
process.stdin.on('data', (d) => {
  buf += d;
  for (let i; (i = buf.indexOf('\\n')) >= 0; ) {
    const cmd = buf.slice(0, i); buf = buf.slice(i + 1);
    if (cmd === 'report') {
      let repeated = 0; for (const n of posts.values()) if (n > 1) repeated++;
      server.getConnections((err, open) => console.log(JSON.stringify({ faults, posts: posts.size, repeated, open: err ? -1 : open })));
    } else if (cmd === 'down') { mode = 'ok'; server.close(); server.closeAllConnections(); }
    else if (cmd === 'up') { if (!server.listening) server.listen(port, '127.0.0.1'); mode = 'ok'; }
    else mode = cmd;
  }
});
`;

export interface UpstreamReport {
  faults: number;
  posts: number;
  repeated: number;
  open: number;
}

export interface FlappingUpstream {
  readonly port: number;
  set(mode: Mode | 'up'): void;
  /** What it saw; `open`: connections open on its side now. */
  report(): Promise<UpstreamReport>;
  close(): void;
}

export async function startFlappingUpstream(): Promise<FlappingUpstream> {
  const child: ChildProcess = spawn(process.execPath, ['-e', SERVER], { stdio: ['pipe', 'pipe', 'ignore'] });
  child.stdout!.setEncoding('utf8');
  const [first] = (await once(child.stdout!, 'data')) as [string];
  const { port } = JSON.parse(first.split('\n')[0]!) as { port: number };
  return {
    port,
    set: (mode) => child.stdin!.write(`${mode}\n`),
    async report() {
      child.stdin!.write('report\n');
      const [line] = (await once(child.stdout!, 'data')) as [string];
      return JSON.parse(line.split('\n')[0]!) as UpstreamReport;
    },
    close: () => child.kill('SIGKILL'),
  };
}

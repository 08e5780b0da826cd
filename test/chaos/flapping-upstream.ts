/**
 * An upstream a chaos row can misbehave at will, in a child process (its CPU is not the load
 * generator's): it answers 200, and on the row's command resets every request's connection (RST,
 * `socket.resetAndDestroy()`), answers 2 s late, or stops listening. It counts what it saw: the
 * faults it injected, and every POST's `x-chaos-id`, so a POST that reached it twice (a retried
 * non-idempotent request) shows.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

export type Mode = 'ok' | 'reset' | 'slow' | 'down';

const SERVER = `
const http = require('http');
let mode = 'ok', faults = 0, port = 0;
const posts = new Map();
const server = http.createServer((q, r) => {
  if (q.method === 'POST') { const id = q.headers['x-chaos-id']; posts.set(id, (posts.get(id) || 0) + 1); }
  q.resume();
  if (mode === 'reset') { faults++; q.socket.resetAndDestroy(); return; }
  if (mode === 'slow') { faults++; setTimeout(() => r.end('ok'), 2000); return; }
  r.end('ok');
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => { port = server.address().port; console.log(JSON.stringify({ port })); });
process.stdin.setEncoding('utf8');
let buf = '';
process.stdin.on('data', (d) => {
  buf += d;
  for (let i; (i = buf.indexOf('\\n')) >= 0; ) {
    const cmd = buf.slice(0, i); buf = buf.slice(i + 1);
    if (cmd === 'report') {
      let repeated = 0; for (const n of posts.values()) if (n > 1) repeated++;
      console.log(JSON.stringify({ faults, posts: posts.size, repeated }));
    } else if (cmd === 'down') { mode = 'ok'; server.close(); server.closeAllConnections(); }
    else if (cmd === 'up') { if (!server.listening) server.listen(port, '127.0.0.1'); mode = 'ok'; }
    else mode = cmd;
  }
});
`;

export interface FlappingUpstream {
  readonly port: number;
  set(mode: Mode | 'up'): void;
  report(): Promise<{ faults: number; posts: number; repeated: number }>;
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
      return JSON.parse(line.split('\n')[0]!) as { faults: number; posts: number; repeated: number };
    },
    close: () => child.kill('SIGKILL'),
  };
}

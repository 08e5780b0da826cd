/** Throw-away redis-server processes on free ports, for the fleet policy tests (nats-server: ../helpers/nats-server.ts). */
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort, waitUntil } from '../dp/helpers/fixtures.js';
import { portAnswers } from '../helpers/ports.js';

export { freePort, waitUntil };

export interface ServerProcess {
  readonly port: number;
  /** SIGKILLs the server and waits until it is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port. */
  restart(): Promise<void>;
}

async function startProcess(port: number, command: string, args: string[]): Promise<ServerProcess> {
  let child: ChildProcess | null = null;
  const start = async (): Promise<void> => {
    child = spawn(command, args, { stdio: 'ignore' });
    await waitUntil(`${command} answers on ${port}`, () => portAnswers(port));
  };
  await start();
  return {
    port,
    async kill() {
      const c = child;
      child = null;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise((resolve) => c.once('exit', resolve));
      c.kill('SIGKILL');
      await exited;
    },
    restart: start,
  };
}

/** A redis-server of our own (never the machine's): no persistence. */
export async function startRedis(extraArgs: string[] = []): Promise<ServerProcess> {
  const port = await freePort();
  return startProcess(port, 'redis-server', [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    ...extraArgs,
  ]);
}

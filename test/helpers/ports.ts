/** Whether something accepts TCP connections on 127.0.0.1:`port` (a server a test started is up). */
import { createConnection, createServer } from 'node:net';

export function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

const handedOut = new Set<number>();

/**
 * A port nothing listens on now, never one this process handed out before: the OS may give the
 * same port to two listen(0) calls in a row once the first is closed, and a test that asks for
 * two ports (a NATS port and a proxy port, a CP and a DP) would then start both on one.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const a = s.address();
        s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

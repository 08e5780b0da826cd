/** Whether something accepts TCP connections on 127.0.0.1:`port` (a server a test started is up). */
import { createConnection } from 'node:net';

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

/**
 * A TCP gate in front of a control plane's cluster port: the address the data planes dial. Shut,
 * it resets every connection through it and refuses new ones (as the port of a killed CP does);
 * opened again, it forwards to the cluster port it is given — possibly another replica's — on the
 * same address. With two CP replicas behind it, a row can kill one and bring the other (already
 * started) in after exactly the outage it wants, however long a CP takes to start on this box.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';

export class Gate {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();

  private constructor(
    public port: number,
    private target: number,
  ) {}

  /** A gate forwarding to `targetPort` on a free loopback port. */
  static async open(targetPort: number): Promise<Gate> {
    const gate = new Gate(0, targetPort);
    await gate.listen();
    return gate;
  }

  private async listen(): Promise<void> {
    const server = createServer((client) => {
      const upstream = createConnection({ host: '127.0.0.1', port: this.target });
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
      }
      // An end or a reset on either side is passed on to the other as a reset.
      client.on('error', () => upstream.resetAndDestroy());
      upstream.on('error', () => client.resetAndDestroy());
      client.pipe(upstream);
      upstream.pipe(client);
    });
    server.listen(this.port, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('gate: no port');
    this.port = address.port;
    this.server = server;
  }

  /** Resets every connection through the gate and stops accepting new ones. */
  async shut(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.resetAndDestroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Accepts again on the same port, forwarding to `targetPort`. */
  async reopen(targetPort: number): Promise<void> {
    await this.shut();
    this.target = targetPort;
    await this.listen();
  }
}

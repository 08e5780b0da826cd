/**
 * The data plane status server (node:http, port 8100 by default), served by the primary:
 *   GET /status        JSON: node id, config served, sync state, workers, uptime
 *   GET /status/ready  200 once a config is served (by every worker), 503 before
 *   GET /metrics       Prometheus text
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@gatehouse/shared';
import type { Registry } from 'prom-client';
import { errorResponseOf, ProxyErrorCode } from '../proxy/errors.js';

/** The gateway's 500 (the error table's status and Kong's message). */
const INTERNAL = errorResponseOf(ProxyErrorCode.INTERNAL);

export interface StatusServerOptions {
  /** The body of GET /status. */
  status: () => unknown;
  /** Whether GET /status/ready answers 200. */
  ready: () => boolean;
  registry: Registry;
  /** Runs before /metrics renders (the primary pulls the workers' request metrics); bounded by its caller. */
  beforeMetrics?: () => Promise<void>;
  logger: Logger;
}

export class StatusServer {
  readonly server: Server;

  constructor(private readonly opts: StatusServerOptions) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        opts.logger.error({ err: e }, 'status request failed');
        if (!res.headersSent) json(res, INTERNAL.status, { message: INTERNAL.message });
        else res.destroy();
      });
    });
    this.server.keepAliveTimeout = 5_000;
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 10_000;
  }

  async listen(port: number, host: string): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return this.server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      json(res, 405, { message: 'Method not allowed' });
      return;
    }
    switch (path) {
      case '/status':
        json(res, 200, this.opts.status());
        return;
      case '/status/ready': {
        const ready = this.opts.ready();
        json(
          res,
          ready ? 200 : 503,
          ready ? { message: 'ready' } : { message: 'no configuration loaded yet' },
        );
        return;
      }
      case '/metrics': {
        await this.opts.beforeMetrics?.();
        const text = await this.opts.registry.metrics();
        res.writeHead(200, {
          'content-type': this.opts.registry.contentType,
          'content-length': Buffer.byteLength(text),
        });
        res.end(req.method === 'HEAD' ? undefined : text);
        return;
      }
      default:
        json(res, 404, { message: 'Not found' });
    }
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/**
 * The HTTP proxy of a data plane: node:http in front, Kong's traditional router, undici pools to
 * the upstreams. `apply()` compiles a configuration once (router + pools) and swaps it in
 * atomically; a request does no config parsing, only lookups in the compiled structures.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Pool } from 'undici';
import { isGatehouseError, type GatehouseConfig, type Logger, type Service } from '@gatehouse/shared';
import { compileRouter, type RouteRequest, type Router } from '../router/router.js';
import { normalizePath } from '../router/normalize.js';
import { hostWithoutPort } from '../router/host.js';
import { upstreamPath } from '../router/upstream-path.js';
import { poolKey, UpstreamPools } from './upstream-pools.js';
import { findHost, upstreamRequestHeaders, type ForwardedValues } from './headers.js';
import { ProxyErrorCode, ProxyErrors, rawClientErrorResponse, sendError } from './errors.js';
import { onClientSocketClose, UpstreamExchange, type ClientSocket } from './exchange.js';

export interface ProxyServerOptions {
  logger: Logger;
  /** Idle keep-alive timeout for client connections (default 60 s, as Kong's keepalive_timeout). */
  keepAliveTimeoutMs?: number;
}

/** What a route's entry carries about its service, computed once per configuration. */
interface ServiceTarget {
  readonly pool: Pool;
  /** Host header sent upstream when the route does not preserve the host. */
  readonly hostHeader: string;
  /** Service path, `/` when it has none. */
  readonly servicePath: string;
  readonly readTimeout: number;
}

interface CompiledConfig {
  readonly router: Router<ServiceTarget>;
  readonly pools: Map<string, Pool>;
}

function defaultPort(protocol: string): number {
  return protocol === 'https' || protocol === 'grpcs' || protocol === 'wss' ? 443 : 80;
}

function hostHeaderFor(service: Service): string {
  const host =
    service.host.includes(':') && !service.host.startsWith('[') ? `[${service.host}]` : service.host;
  return service.port === defaultPort(service.protocol) ? host : `${host}:${service.port}`;
}

const PROXIED_PROTOCOLS = new Set(['http', 'https']);

function hasBody(raw: readonly string[]): boolean {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 14 && name.toLowerCase() === 'content-length') return raw[i + 1] !== '0';
    if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') return true;
  }
  return false;
}

export class ProxyServer {
  readonly server: http.Server;
  private readonly logger: Logger;
  private readonly pools: UpstreamPools;
  private state: CompiledConfig | null = null;
  private forwardedPort = '';
  // Reused per request (request handling is synchronous up to dispatch).
  private readonly routeRequest: RouteRequest = { method: '', path: '', host: undefined, rawHeaders: [] };

  constructor(options: ProxyServerOptions) {
    this.logger = options.logger;
    this.pools = new UpstreamPools(this.logger);
    this.server = http.createServer(
      { keepAliveTimeout: options.keepAliveTimeoutMs ?? 60_000 },
      (req, res) => {
        try {
          this.handle(req, res);
        } catch (err) {
          // A bug, never a client's fault: answer 500 rather than crash the worker.
          this.logger.error({ err, method: req.method, url: req.url }, 'proxy request handler failed');
          sendError(res, ProxyErrorCode.INTERNAL);
        }
      },
    );
    this.server.on('connection', (socket: ClientSocket) => {
      socket.on('close', onClientSocketClose);
    });
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: ClientSocket) => {
      if (err.code === 'ECONNRESET' || !socket.writable) {
        socket.destroy();
        return;
      }
      socket.end(rawClientErrorResponse(err.code));
    });
  }

  /**
   * Compiles `config` (router + one pool per upstream origin) and swaps it in. Throws a
   * GatehouseError and keeps the current configuration when it cannot be compiled.
   */
  apply(config: GatehouseConfig): void {
    const used: Service[] = [];
    const byId = new Map<string, Service>();
    for (const s of config.services) {
      byId.set(s.id, s);
      if (s.enabled && PROXIED_PROTOCOLS.has(s.protocol)) used.push(s);
    }
    const pools = this.pools.prepare(used);
    let router: Router<ServiceTarget>;
    try {
      router = compileRouter<ServiceTarget>(config, (service) => {
        if (!PROXIED_PROTOCOLS.has(service.protocol)) {
          this.logger.warn(
            { service: service.id, protocol: service.protocol },
            'service protocol not proxied; its routes are left out',
          );
          return null;
        }
        return {
          pool: pools.get(poolKey(service))!,
          hostHeader: hostHeaderFor(service),
          servicePath: service.path ?? '/',
          readTimeout: service.read_timeout,
        };
      });
    } catch (e) {
      this.pools.discard(pools);
      if (isGatehouseError(e)) throw e;
      throw ProxyErrors.invalidConfig(
        `configuration cannot be compiled: ${(e as Error).message}`,
        {},
        { cause: e },
      );
    }
    this.state = { router, pools };
    this.pools.commit(pools);
    this.logger.info({ routes: router.size, upstreams: pools.size }, 'proxy configuration applied');
  }

  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        const address = this.server.address() as AddressInfo | null;
        this.forwardedPort = address === null ? String(port) : String(address.port);
        resolve();
      });
    });
  }

  /** Stops accepting connections, lets in-flight requests finish (bounded), closes the pools. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => {
      if (!this.server.listening) {
        resolve();
        return;
      }
      this.server.close(() => resolve());
    });
    this.server.closeIdleConnections();
    const force = setTimeout(() => this.server.closeAllConnections(), 5_000);
    force.unref();
    await closed;
    clearTimeout(force);
    await this.pools.closeAll();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const state = this.state;
    if (state === null) {
      sendError(res, ProxyErrorCode.NO_ROUTE);
      return;
    }
    let url = req.url ?? '/';
    if (url.charCodeAt(0) !== 47 /* / */) {
      // Absolute-form (a client talking to us as a forward proxy): keep the path part.
      const scheme = url.indexOf('://');
      const slash = scheme < 0 ? -1 : url.indexOf('/', scheme + 3);
      if (scheme < 0) {
        sendError(res, ProxyErrorCode.BAD_REQUEST);
        return;
      }
      url = slash < 0 ? '/' : url.slice(slash);
    }
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    const path = normalizePath(rawPath);
    const raw = req.rawHeaders;
    const host = findHost(raw);
    const method = req.method ?? 'GET';

    const rr = this.routeRequest;
    rr.method = method;
    rr.path = path;
    rr.host = host;
    rr.rawHeaders = raw;
    const match = state.router.match(rr);
    rr.rawHeaders = [];
    if (match === null) {
      sendError(res, ProxyErrorCode.NO_ROUTE);
      return;
    }
    const route = match.entry.route;
    if (!route.protocols.includes('http')) {
      sendError(res, ProxyErrorCode.HTTPS_REQUIRED);
      return;
    }
    const target = match.entry.target;
    const prefixLength = match.prefixLength;
    const stripped = route.strip_path && prefixLength > 0;
    const upPath = upstreamPath({
      path,
      prefixLength,
      stripPath: route.strip_path,
      pathHandling: route.path_handling,
      servicePath: target.servicePath,
    });

    const socket = req.socket as ClientSocket;
    const fwd: ForwardedValues = {
      host: route.preserve_host && host !== undefined ? host : target.hostHeader,
      clientIp: socket.remoteAddress ?? '',
      proto: 'http',
      forwardedHost: host === undefined ? '' : hostWithoutPort(host),
      forwardedPort: this.forwardedPort,
      forwardedPath: rawPath,
      forwardedPrefix: stripped ? path.slice(0, prefixLength) : null,
    };
    const headers = upstreamRequestHeaders(raw, fwd);
    const exchange = new UpstreamExchange(res, socket, this.logger, method);
    target.pool.dispatch(
      {
        path: q < 0 ? upPath : upPath + url.slice(q),
        method,
        headers,
        body: hasBody(raw) ? req : null,
        headersTimeout: target.readTimeout,
        bodyTimeout: target.readTimeout,
      },
      exchange,
    );
  }
}

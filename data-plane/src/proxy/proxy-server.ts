/**
 * The HTTP proxy of a data plane: node:http in front, Kong's traditional router, undici pools to
 * the upstreams. `apply()` compiles a configuration once (router + pools) and swaps it in
 * atomically; a request does no config parsing, only lookups in the compiled structures.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Pool } from 'undici';
import { completeConfig, isGatehouseError, type GatehouseConfig, type Logger } from '@gatehouse/shared';
import { compileRouter, type RouteRequest, type Router } from '../router/router.js';
import { normalizePath } from '../router/normalize.js';
import { hostWithoutPort } from '../router/host.js';
import { upstreamPath } from '../router/upstream-path.js';
import { UpstreamPools } from './upstream-pools.js';
import { findHost, upstreamRequestHeaders, type ForwardedValues } from './headers.js';
import {
  ProxyErrorCode,
  ProxyErrors,
  rawClientErrorResponse,
  sendError,
  sendHttpsRedirect,
} from './errors.js';
import { onClientSocketClose, UpstreamExchange, type ClientSocket } from './exchange.js';
import { compileTargets, type ServiceTarget } from './service-targets.js';
import { dispatchBalanced } from './balanced-dispatch.js';
import { Balancers } from '../balancer/balancers.js';
import { TlsListener } from '../tls/tls-listener.js';
import { CertificateStore } from '../tls/certificate-store.js';
import type { CertificateAndKey } from '../tls/x509.js';
import { compilePlugins, PluginRunner, type Chain, type CompiledPlugins } from '../plugins/runtime/index.js';
import type { RequestInit } from '../plugins/runtime/context.js';
import type { PluginRegistry } from '../plugins/registry.js';
import { ClientIpResolver } from '../net/client-ip.js';

export interface ProxyServerOptions {
  logger: Logger;
  /** Idle keep-alive timeout for client connections (default 60 s, as Kong's keepalive_timeout). */
  keepAliveTimeoutMs?: number;
  /** Plugins this proxy can run; a configuration using plugins is refused without it. */
  plugins?: PluginRegistry;
  /**
   * Kong's `trusted_ips`: addresses/CIDRs of the proxies in front. Only from such a peer is
   * X-Forwarded-For believed when deciding the client IP (plugins, X-Real-IP). Default: none.
   */
  trustedIps?: readonly string[];
}

interface CompiledConfig {
  readonly router: Router<ServiceTarget>;
  readonly pools: Map<string, Pool>;
  /** Plugin chains per route, or null when the configuration has no enabled plugin. */
  readonly plugins: CompiledPlugins | null;
}

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
  private readonly clientIps: ClientIpResolver | null;
  private readonly logger: Logger;
  private readonly pools: UpstreamPools;
  /** Upstreams (balancers, health checks) of the current configuration. */
  readonly balancers: Balancers;
  private readonly tls: TlsListener;
  private state: CompiledConfig | null = null;
  private readonly registry: PluginRegistry | null;
  private readonly runner: PluginRunner;
  /** `checkContinue` listener: 100 Continue is sent by the proxy (after the access phase). */
  private readonly onCheckContinue: (req: IncomingMessage, res: ServerResponse) => void;
  private forwardedPort = '';
  private tlsForwardedPort = '';
  // Reused per request (request handling is synchronous up to dispatch).
  private readonly routeRequest: RouteRequest = { method: '', path: '', host: undefined, rawHeaders: [] };

  constructor(options: ProxyServerOptions) {
    this.logger = options.logger;
    this.pools = new UpstreamPools(this.logger);
    this.balancers = new Balancers(this.logger);
    this.registry = options.plugins ?? null;
    this.clientIps = options.trustedIps?.length ? new ClientIpResolver(options.trustedIps) : null;
    this.runner = new PluginRunner(this.logger);
    const guarded = (req: IncomingMessage, res: ServerResponse, expectContinue: boolean): void => {
      try {
        this.handle(req, res, expectContinue);
      } catch (err) {
        // A bug, never a client's fault: answer 500 rather than crash the worker.
        this.logger.error({ err, method: req.method, url: req.url }, 'proxy request handler failed');
        sendError(res, ProxyErrorCode.INTERNAL);
      }
    };
    const handler = (req: IncomingMessage, res: ServerResponse): void => guarded(req, res, false);
    // `Expect: 100-continue`: node leaves the interim response to us, so plugins (size limit,
    // authentication) can refuse before the client sends the body.
    this.onCheckContinue = (req, res) => guarded(req, res, true);
    const keepAliveTimeout = options.keepAliveTimeoutMs ?? 60_000;
    this.server = http.createServer({ keepAliveTimeout }, handler);
    this.tls = new TlsListener(this.logger, keepAliveTimeout, handler, ProxyServer.onClientError);
    ProxyServer.instrument(this.server);
    this.server.on('checkContinue', this.onCheckContinue);
  }

  /** Per-connection hooks shared by the plain and the TLS server. */
  static instrument(server: http.Server): void {
    server.on('connection', (socket: ClientSocket) => {
      socket.on('close', onClientSocketClose);
    });
    server.on('clientError', ProxyServer.onClientError);
  }

  private static onClientError(this: void, err: NodeJS.ErrnoException, socket: ClientSocket): void {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    socket.end(rawClientErrorResponse(err.code));
  }

  /** The HTTPS server, once {@link listenTls} was called. */
  get tlsServer(): http.Server | null {
    return this.tls.server;
  }

  /**
   * Compiles `config` (router + one pool per upstream origin) and swaps it in. Throws a
   * GatehouseError and keeps the current configuration when it cannot be compiled.
   */
  apply(partial: GatehouseConfig): void {
    // Snapshots from older CPs, DB-less files and embedders may lack newer entity lists.
    const config = completeConfig(partial);
    let compiled: ReturnType<typeof compileTargets> | null = null;
    let router: Router<ServiceTarget>;
    let certificates: CertificateStore;
    let plugins: CompiledPlugins | null;
    try {
      plugins = compilePlugins(config, this.registry, this.logger);
      compiled = compileTargets(config, { pools: this.pools, balancers: this.balancers }, this.logger);
      router = compileRouter<ServiceTarget>(config, compiled.targetFor);
      certificates = CertificateStore.compile(config, this.tls.certificates);
    } catch (e) {
      if (compiled !== null) this.pools.discard(compiled.pools);
      if (isGatehouseError(e)) throw e;
      throw ProxyErrors.invalidConfig(
        `configuration cannot be compiled: ${(e as Error).message}`,
        {},
        { cause: e },
      );
    }
    this.state = { router, pools: compiled.pools, plugins };
    this.pools.commit(compiled.pools);
    this.balancers.commit(compiled.balancers);
    this.tls.certificates = certificates;
    this.logger.info(
      { routes: router.size, pools: compiled.pools.size, upstreams: compiled.balancers.byId.size },
      'proxy configuration applied',
    );
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

  /**
   * Starts the HTTPS listener (Kong's 8443): certificates chosen by SNI from the configuration,
   * else `defaultCertificate` (PEM cert + key), else a self-signed one generated here.
   */
  async listenTls(port: number, host: string, defaultCertificate?: CertificateAndKey): Promise<void> {
    this.tlsForwardedPort = String(await this.tls.listen(port, host, defaultCertificate));
    this.tls.server!.on('checkContinue', this.onCheckContinue);
  }

  /** Stops accepting connections, lets in-flight requests finish (bounded), closes the pools. */
  async close(): Promise<void> {
    this.balancers.close();
    const tlsClosed = this.tls.close();
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
    await tlsClosed;
    clearTimeout(force);
    await this.pools.closeAll();
  }

  private handle(req: IncomingMessage, res: ServerResponse, expectContinue: boolean): void {
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
    const socket = req.socket as ClientSocket;
    const secure = (socket as { encrypted?: boolean }).encrypted === true;
    if (!secure && !route.protocols.includes('http')) {
      if (route.https_redirect_status_code === 426 || host === undefined) {
        sendError(res, ProxyErrorCode.HTTPS_REQUIRED);
      } else {
        sendHttpsRedirect(res, route.https_redirect_status_code, `https://${hostWithoutPort(host)}${url}`);
      }
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

    const preserveHost = route.preserve_host && host !== undefined;
    const peerIp = socket.remoteAddress ?? '';
    const fwd: ForwardedValues = {
      host: preserveHost ? host : target.hostHeader,
      peerIp,
      // Kong's real_ip: only a peer in trusted_ips may name the client through X-Forwarded-For.
      clientIp: this.clientIps === null ? peerIp : this.clientIps.resolve(peerIp, raw),
      proto: secure ? 'https' : 'http',
      forwardedHost: host === undefined ? '' : hostWithoutPort(host),
      forwardedPort: secure ? this.tlsForwardedPort : this.forwardedPort,
      forwardedPath: rawPath,
      forwardedPrefix: stripped ? path.slice(0, prefixLength) : null,
    };
    const headers = upstreamRequestHeaders(raw, fwd);
    const chain = state.plugins === null ? undefined : state.plugins.chains.get(route.id);
    if (chain !== undefined) {
      this.runPlugins(
        state.plugins!,
        chain,
        req,
        res,
        target,
        {
          req,
          method,
          path,
          rawPath,
          rawQuery: q < 0 ? '' : url.slice(q + 1),
          host,
          scheme: fwd.proto,
          clientIp: fwd.clientIp,
          route,
          service: chain.service,
          sendContinue: expectContinue ? () => res.writeContinue() : null,
        },
        upPath,
        headers,
        preserveHost,
        match.captures,
      );
      return;
    }
    if (expectContinue) res.writeContinue();
    if (target.balanced !== null) {
      dispatchBalanced(target.balanced, req, res, this.logger, {
        method,
        path: q < 0 ? upPath : upPath + url.slice(q),
        query: q < 0 ? '' : url.slice(q + 1),
        normalizedPath: path,
        headers,
        hasBody: hasBody(raw),
        readTimeout: target.readTimeout,
        preserveHost,
        captures: match.captures,
        consumerId: undefined,
      });
      return;
    }
    const exchange = new UpstreamExchange(res, socket, this.logger, method);
    target.pool!.dispatch(
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

  /** A route with plugins: the chain runs, then the request goes upstream as above. */
  private runPlugins(
    plugins: CompiledPlugins,
    chain: Chain,
    req: IncomingMessage,
    res: ServerResponse,
    target: ServiceTarget,
    init: RequestInit,
    upPath: string,
    headers: string[],
    preserveHost: boolean,
    captures: Readonly<Record<string, string | undefined>> | null,
  ): void {
    const balanced = target.balanced;
    this.runner.handle(
      plugins,
      chain,
      init,
      {
        dispatcher: balanced === null ? target.pool! : null,
        dispatchOther:
          balanced === null
            ? null
            : (r) =>
                dispatchBalanced(balanced, req, res, this.logger, {
                  method: init.method,
                  path: r.path,
                  query: r.query,
                  normalizedPath: init.path,
                  headers: r.headers,
                  hasBody: hasBody(req.rawHeaders),
                  readTimeout: target.readTimeout,
                  preserveHost,
                  captures,
                  consumerId: r.consumerId,
                  handler: r.handler,
                  ...(r.body === undefined ? {} : { body: r.body }),
                }),
        path: upPath,
        headers,
        hasBody: hasBody(req.rawHeaders),
        readTimeout: target.readTimeout,
      },
      res,
    );
  }
}

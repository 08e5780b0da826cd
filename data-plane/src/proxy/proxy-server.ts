/**
 * The HTTP proxy of a data plane: node:http in front, Kong's traditional router, undici pools to
 * the upstreams. `compile()` turns a configuration into a Runtime with no side effects
 * (runtime/compile-runtime.ts); `swap()` commits one (opens or reuses pools, starts or stops
 * active checks, retires what the previous one held); `apply()` is both. A request does no
 * config parsing, only lookups in the compiled structures.
 */
import http, { ServerResponse, type IncomingMessage } from 'node:http';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { completeConfig } from '@gatehouse/shared/entities/registry';
import type { GatehouseConfig } from '@gatehouse/shared/config/model';
import type { Logger } from '@gatehouse/shared/logger';
import { hostWithoutPort } from '../router/host.js';
import { UpstreamPools } from './upstream-pools.js';
import { upstreamClientFromEnv, type UpstreamClient } from './pool-spec.js';
import { ProxyErrorCode, rawClientErrorResponse, sendError, sendHttpsRedirect } from './errors.js';
import { onClientSocketClose, UpstreamExchange, type ClientSocket } from './exchange.js';
import { ClientConnections, kClosing, LISTEN_BACKLOG, type ClientLimits } from './client-connections.js';
import { OverloadGuard } from './overload.js';
import { CopyChannelDemux, ListenerCopies, type CopyChannel } from './listener-copies.js';
import { dispatchUpstream } from './dispatch.js';
import { isWebSocketUpgrade } from './headers.js';
import { ProxyRequest, type RequestSettings } from './request.js';
import { Http2Edge, http2Settings, type Http2Settings } from './http2-edge.js';
import { sniffPreface } from './preface-sniff.js';
import {
  DEFAULT_REQUEST_POLICY,
  readRequestHead,
  refuseConnect,
  type RequestPolicy,
} from './request-head.js';
import { Balancers } from '../balancer/balancers.js';
import { TlsListener } from '../tls/tls-listener.js';
import type { CertificateAndKey } from '../tls/x509.js';
import type { TlsPolicy } from '@gatehouse/shared';
import { PluginRunner } from '../plugins/runtime/index.js';
import type { PluginRegistry } from '../plugins/registry.js';
import { ClientIpResolver } from '../net/client-ip.js';
import { compileRuntime } from '../runtime/compile-runtime.js';
import type { Runtime } from '../runtime/runtime.js';
import { RequestObservers, type RequestObserver } from '../observe/request-observer.js';
import type { RequestTracer } from '../tracing/tracer.js';
import type { DnsResolver } from '../dns/resolver.js';
import { dnsNamesOf } from '../dns/view.js';
import { referencesOf, vaultResolverFromEnv, type VaultResolver } from '../vaults/index.js';

function destroyOnError(this: Socket): void {
  this.destroy();
}

/**
 * node's own connection setup of an HTTP server (what `https` and `http2`'s fallback call; not in
 * node's typings): attaches a fresh HTTP parser to a socket, without emitting 'connection' again.
 */
const reparse = (http as unknown as { _connectionListener: (this: http.Server, socket: Socket) => void })
  ._connectionListener;

/**
 * The request head of an upgrade that is not switched to, as node read it, without `Upgrade` and
 * without the `upgrade` token of `Connection` (node's parser validated every line already).
 */
function requestHeadWithoutUpgrade(req: IncomingMessage): string {
  let head = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    let value = raw[i + 1]!;
    if (name === 'upgrade') continue;
    if (name === 'connection') {
      value = value
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== '' && t.toLowerCase() !== 'upgrade')
        .join(', ');
      if (value === '') continue;
    }
    head += `${raw[i]}: ${value}\r\n`;
  }
  return head + '\r\n';
}

/** The names of the plugins a configuration enables. */
function pluginNamesOf(config: GatehouseConfig): string[] {
  const names: string[] = [];
  for (const p of config.plugins ?? []) if (p.enabled !== false) names.push(p.name);
  return names;
}

/** How long a new configuration waits for the first answers of its host names before compiling. */
const DNS_PRIME_MS = 5_000;

export interface ProxyServerOptions {
  logger: Logger;
  /**
   * What a client connection is allowed (see ClientLimits): header/body/request timeouts (408),
   * keep-alive timeout (default 60 s, as Kong's keepalive_timeout), connections per IP, lingering close.
   */
  clientLimits?: Partial<ClientLimits>;
  /** Plugins this proxy can run; a configuration using plugins is refused without it. */
  plugins?: PluginRegistry;
  /**
   * Kong's `trusted_ips`: addresses/CIDRs of the proxies in front. Only from such a peer is
   * X-Forwarded-For believed when deciding the client IP (plugins, X-Real-IP). Default: none.
   */
  trustedIps?: readonly string[];
  /**
   * Run the upstreams' active health checks in this process (default true). A data plane worker
   * turns it off: its primary checks once per node and sends target health over IPC.
   */
  activeHealthChecks?: boolean;
  /**
   * Request-line, path and header rules (`--path-escaped-slashes`, `--underscores-in-headers`);
   * default DEFAULT_REQUEST_POLICY (escaped slashes refused, underscored header names dropped).
   */
  requestPolicy?: Partial<RequestPolicy>;
  /**
   * HTTP/2 at the edge (`--http2-*`): h2 by ALPN on the HTTPS listener, h2c with prior knowledge
   * on the plain one, stream and header limits. Default HTTP2_DEFAULTS (both on).
   */
  http2?: Partial<Http2Settings>;
  /**
   * Told of every request once its response is over (metrics, access log, traffic summaries,
   * tracing; see observe/request-observer.ts). Default: none, and then no per-request listener.
   */
  observers?: readonly RequestObserver[];
  /**
   * Traces every request (tracing/env.ts `tracingFromEnv`); also observes the end of each request.
   * Default: none, and then no span is created.
   */
  tracer?: RequestTracer | null;
  /**
   * Told of each listening server as it is made (the plain one now, the TLS one in `listenTls`),
   * e.g. to count its connections (observe/connection-count.ts).
   */
  onListener?: (server: http.Server, secure: boolean) => void;
  /**
   * Kong's DNS balancing: host names (upstream targets, service hosts) are balanced over the
   * addresses this resolver caches, refreshed in the background; a changed answer recompiles the
   * configuration served. The proxy owns it (closes it). Default: none, undici resolves names on
   * connect (the data plane process always gives one, docs/load-balancing.md "DNS").
   */
  dns?: DnsResolver | null;
  /**
   * Reads the configuration's vault references (docs/vaults.md) before a compile and again when
   * their ttl passes; a changed value recompiles the configuration. Default: the `env` and
   * `file` backends over this process's environment (vaults/index.ts).
   */
  vaults?: VaultResolver | null;
  /**
   * The IPC channel to the data plane's primary (a cluster worker's `process`, given by the worker
   * entry): while saturated, the server accepts on copies of its listening socket fetched through
   * it too (proxy/listener-copies.ts; only with load shedding on, and only where the worker holds
   * its listening socket). Default: none, the server accepts on its listener alone.
   */
  listenerCopies?: CopyChannel | null;
  /**
   * The HTTP/1.1 client of plain-HTTP upstreams: undici (default) or the llhttp client
   * (proxy/h1-upstream.ts). Default: `GATEHOUSE_UPSTREAM_CLIENT`, else DEFAULT_UPSTREAM_CLIENT.
   */
  upstreamClient?: UpstreamClient;
}

/** The longest wait between two looks at the vault references' ttls. */
const VAULT_CHECK_MAX_MS = 60_000;
/** The shortest (a missing secret with no neg_ttl is retried this often). */
const VAULT_CHECK_MIN_MS = 1_000;

export class ProxyServer {
  readonly server: http.Server;
  private readonly logger: Logger;
  private readonly pools: UpstreamPools;
  /** Upstreams (balancers, health checks) of the current configuration. */
  readonly balancers: Balancers;
  private readonly tls: TlsListener;
  /** The HTTP/2 sessions of both listeners, or null when HTTP/2 is off on both. */
  readonly h2: Http2Edge | null;
  /** The plain listener's connections whose first bytes are not read yet (h2c on), or null. */
  private sniffing: { closeUndecided(): void } | null = null;
  private state: Runtime | null = null;
  private readonly registry: PluginRegistry | null;
  private readonly runner: PluginRunner;
  /** `checkContinue` listener: 100 Continue is sent by the proxy (after the access phase). */
  private readonly onCheckContinue: (req: IncomingMessage, res: ServerResponse) => void;
  /** Timeouts, per-IP cap and lingering close of the client connections (plain and TLS). */
  readonly connections: ClientConnections;
  /** Copies of the listening sockets, opened while the worker is saturated (proxy/listener-copies.ts). */
  private listenerCopies: ListenerCopies[] = [];
  /** Where the copies come from (ProxyServerOptions.listenerCopies). */
  private readonly copyChannel: CopyChannelDemux | null;
  /** Load shedding (null when all of its signals are off). */
  readonly overload: OverloadGuard | null;
  /** What every request of this server reads (logger, trusted_ips, forwarded ports). */
  private readonly settings: { -readonly [K in keyof RequestSettings]: RequestSettings[K] };
  private readonly observers: RequestObservers;
  private readonly onListener: ((server: http.Server, secure: boolean) => void) | null;
  readonly dns: DnsResolver | null;
  /** A recompile for changed DNS answers is scheduled. */
  private dnsRefresh: NodeJS.Immediate | null = null;
  readonly vaults: VaultResolver | null;
  /** The next look at the vault references' ttls. */
  private vaultTimer: NodeJS.Timeout | null = null;

  constructor(options: ProxyServerOptions) {
    this.vaults = options.vaults === undefined ? vaultResolverFromEnv(process.env) : options.vaults;
    this.dns = options.dns ?? null;
    this.copyChannel = options.listenerCopies == null ? null : new CopyChannelDemux(options.listenerCopies);
    this.dns?.onChange((name) => {
      if (this.state?.dns?.names.has(name) === true && this.dnsRefresh === null)
        this.dnsRefresh = setImmediate(this.refreshDns);
    });
    this.logger = options.logger;
    this.pools = new UpstreamPools(this.logger, options.upstreamClient ?? upstreamClientFromEnv(process.env));
    this.balancers = new Balancers(this.logger, { activeChecks: options.activeHealthChecks ?? true });
    this.registry = options.plugins ?? null;
    this.settings = {
      logger: this.logger,
      clientIps: options.trustedIps?.length ? new ClientIpResolver(options.trustedIps) : null,
      forwardedPort: '',
      tlsForwardedPort: '',
      policy: { ...DEFAULT_REQUEST_POLICY, ...options.requestPolicy },
      tracer: options.tracer ?? null,
      observers: null,
    };
    this.runner = new PluginRunner();
    this.onListener = options.onListener ?? null;
    const tracer = options.tracer ?? null;
    this.observers = new RequestObservers(
      tracer === null ? options.observers : [...(options.observers ?? []), tracer],
    );
    this.settings.observers = this.observers.active ? this.observers : null;
    const handler = (req: IncomingMessage, res: ServerResponse): void => this.guarded(req, res, false);
    // `Expect: 100-continue`: node leaves the interim response to us, so plugins (size limit,
    // authentication) can refuse before the client sends the body.
    this.onCheckContinue = (req, res) => this.guarded(req, res, true);
    this.connections = new ClientConnections(options.clientLimits);
    const overload = new OverloadGuard(this.connections.limits);
    this.overload = overload.enabled ? overload : null;
    // Every listener's copies open on the same saturated turn (the list is read when it fires).
    if (this.overload !== null && this.copyChannel !== null)
      this.overload.onSaturated = () => {
        for (const c of this.listenerCopies) c.need();
      };
    this.settings.websocketMaxMessageSize = this.connections.limits.websocketMaxMessageSize;
    // A missing Host is answered from the error table (proxy/request-head.ts), not by node.
    const serverOptions: http.ServerOptions = {
      ...this.connections.serverOptions(),
      requireHostHeader: false,
    };
    this.server = http.createServer(serverOptions, handler);
    const h2 = http2Settings(options.http2);
    this.h2 =
      h2.tls || h2.cleartext
        ? new Http2Edge({
            settings: h2,
            idleTimeoutMs: this.connections.limits.keepAliveTimeoutMs,
            firstRequestTimeoutMs: this.connections.limits.headerTimeoutMs,
            logger: this.logger,
            onRequest: handler,
            onCheckContinue: this.onCheckContinue,
            onConnect: (_req, res) => sendError(res, ProxyErrorCode.METHOD_NOT_ALLOWED),
          })
        : null;
    const edge = this.h2;
    this.tls = new TlsListener(
      this.logger,
      serverOptions,
      (server, secure) => this.instrument(server, secure),
      handler,
      edge !== null && h2.tls ? (socket) => edge.accept(socket) : null,
    );
    if (edge !== null && h2.cleartext) {
      this.sniffing = sniffPreface(this.server, {
        h2: (socket) => edge.accept(socket),
        timeoutMs: this.connections.limits.headerTimeoutMs,
        onTimeout: (socket) => this.connections.onRequestTimeout(socket),
      });
    }
    this.instrument(this.server, false);
    this.server.on('checkContinue', this.onCheckContinue);
  }

  private guarded(
    req: IncomingMessage,
    res: ServerResponse,
    expectContinue: boolean,
    upgraded = false,
  ): void {
    try {
      this.handle(req, res, expectContinue, upgraded);
    } catch (err) {
      // A bug, never a client's fault: answer 500 rather than crash the worker.
      this.logger.error({ err, method: req.method, url: req.url }, 'proxy request handler failed');
      sendError(res, ProxyErrorCode.INTERNAL);
    }
  }

  /** Per-connection hooks shared by the plain and the TLS server. */
  private instrument(server: http.Server, secure: boolean): void {
    this.onListener?.(server, secure);
    this.connections.install(server, secure, onClientSocketClose);
    server.on('clientError', this.onClientError);
    server.on('connect', refuseConnect);
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.onUpgrade(server, req, socket, head),
    );
  }

  /**
   * A request with `Connection: upgrade` (node hands over the socket; no ServerResponse exists).
   * A WebSocket handshake gets a ServerResponse made on the socket, so it takes the ordinary path
   * — router, plugins, error table, observers — and every answer before a switch is a normal HTTP
   * response, after which the connection closes; it goes upstream with undici's `upgrade` and
   * becomes a tunnel on 101 (UpstreamExchange.onUpgrade). A handshake with a body is refused (400).
   * Any other upgrade (h2c, TLS) is not switched to: the request is given back to node's HTTP
   * parser without its Upgrade (reparse), and proxied as plain HTTP, body and keep-alive included.
   */
  private onUpgrade(server: http.Server, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const client = socket as Socket;
    if (head.length > 0) client.unshift(head);
    if (!isWebSocketUpgrade(req.method, req.rawHeaders)) {
      client.unshift(Buffer.from(requestHeadWithoutUpgrade(req), 'latin1'));
      reparse.call(server, client);
      return;
    }
    // node removed its own error listener: a reset must not become an uncaught error.
    client.on('error', destroyOnError);
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(client);
    // Answered without a switch: the connection ends once the answer is written.
    res.once('finish', () => client.destroySoon());
    this.guarded(req, res, false, true);
  }

  private readonly onClientError = (err: NodeJS.ErrnoException, socket: ClientSocket): void => {
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      this.connections.onRequestTimeout(socket);
      return;
    }
    if (err.code === 'ECONNRESET' || !socket.writable || (socket as { [kClosing]?: boolean })[kClosing]) {
      socket.destroy();
      return;
    }
    socket.end(rawClientErrorResponse(err.code));
  };

  /** The HTTPS server, once {@link listenTls} was called. */
  get tlsServer(): http.Server | null {
    return this.tls.server;
  }

  /**
   * Compiles `config` and swaps it in. Throws a GatehouseError and keeps the current
   * configuration when it cannot be compiled.
   */
  apply(config: GatehouseConfig): void {
    this.swap(this.compile(config));
  }

  /** Compiles `config` against what this proxy serves (see compileRuntime); no side effects. */
  compile(config: GatehouseConfig): Runtime {
    return compileRuntime(config, this.registry, {
      logger: this.logger,
      serving: { upstreams: this.balancers.serving, certificates: this.tls.certificates },
      dns: this.dns,
      vaults: this.vaults,
    });
  }

  /**
   * Loads the handlers of the plugins `config` uses and resolves the host names of `config` that
   * have no answer yet, waiting a bounded time, so that compiling it finds them (a worker calls it before compiling; names still unresolved then are
   * resolved in the background and the configuration recompiled when they are).
   */
  async prime(config: GatehouseConfig): Promise<void> {
    // The handlers of the plugins it uses (a registry loading them on demand has none yet).
    if (this.registry !== null) await this.registry.load(pluginNamesOf(config));
    if (this.dns !== null) await this.dns.prime(dnsNamesOf(config), DNS_PRIME_MS);
    if (this.vaults !== null) {
      const complete = completeConfig(config);
      await this.vaults.refresh(referencesOf(complete, this.registry), complete.vaults);
    }
  }

  /** Schedules the next look at the vault references of the configuration served. */
  private scheduleVaults(): void {
    if (this.vaultTimer !== null) clearTimeout(this.vaultTimer);
    this.vaultTimer = null;
    const v = this.state?.vaults;
    if (v == null || this.vaults === null) return;
    const due = this.vaults.nextDue(v.references, completeConfig(v.config).vaults);
    const ms = Math.min(Math.max(due * 1000, VAULT_CHECK_MIN_MS), VAULT_CHECK_MAX_MS);
    this.vaultTimer = setTimeout(() => void this.refreshVaults(), ms);
    this.vaultTimer.unref();
  }

  /**
   * Re-reads the vault references whose ttl passed; when a value changed (a rotated secret, a
   * secret that appeared or went missing), recompiles the configuration served and swaps it in.
   */
  private async refreshVaults(): Promise<void> {
    this.vaultTimer = null;
    const v = this.state?.vaults;
    if (v == null || this.vaults === null) return;
    try {
      const changed = await this.vaults.refresh(v.references, completeConfig(v.config).vaults);
      if (changed && this.state?.vaults === v) {
        this.logger.info(
          { references: v.references.size },
          'vault secrets changed: configuration recompiled',
        );
        this.swap(this.compile(v.config));
        return;
      }
    } catch (err) {
      this.logger.error({ err }, 'configuration not recompiled after a vault secret change');
    }
    if (this.state?.vaults === v) this.scheduleVaults();
  }

  /**
   * Recompiles the configuration served, with the DNS answers as they are now, and swaps it in.
   * Unchanged upstreams keep their balancers; in-flight requests finish on the targets and pools
   * they started with (old pools drain before they close).
   */
  private readonly refreshDns = (): void => {
    this.dnsRefresh = null;
    const dns = this.state?.dns;
    if (dns == null) return;
    try {
      this.swap(this.compile(dns.config));
    } catch (err) {
      this.logger.error({ err }, 'configuration not recompiled after a DNS change');
    }
  };

  /**
   * Serves `runtime` from now on: opens its pools (reusing those of the same origin and
   * settings), commits its upstreams (active checks start and stop), installs its certificates,
   * and retires the pools the previous runtime alone held.
   */
  swap(runtime: Runtime): void {
    for (const w of runtime.warnings) this.logger.warn(w.fields, w.message);
    this.pools.bind(runtime.pools, runtime.targets);
    this.state = runtime;
    this.balancers.commit(runtime.upstreams);
    this.tls.certificates = runtime.certificates;
    this.dns?.track(runtime.dns?.names ?? []);
    this.scheduleVaults();
    this.logger.info(
      { routes: runtime.router.size, pools: runtime.pools.size, upstreams: runtime.upstreams.byId.size },
      'proxy configuration applied',
    );
  }

  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
        this.server.off('error', onError);
        this.overload?.start();
        this.copyListener(this.server, 'http');
        const address = this.server.address() as AddressInfo | null;
        this.settings.forwardedPort = address === null ? String(port) : String(address.port);
        resolve();
      });
    });
  }

  /**
   * Starts the HTTPS listener (Kong's 8443): certificates chosen by SNI from the configuration,
   * else `defaultCertificate` (PEM cert + key), else a self-signed one generated here; versions
   * and ciphers from `policy` (default Kong's `intermediate` suite).
   */
  async listenTls(
    port: number,
    host: string,
    defaultCertificate?: CertificateAndKey,
    policy?: TlsPolicy,
  ): Promise<void> {
    this.settings.tlsForwardedPort = String(await this.tls.listen(port, host, defaultCertificate, policy));
    this.tls.server!.on('checkContinue', this.onCheckContinue);
    this.copyListener(this.tls.server!, 'https');
  }

  /**
   * A saturated worker holding its listening socket accepts on copies of it too (with a copy
   * channel and load shedding on; every listener's copies open on the same saturated turn).
   */
  private copyListener(server: NetServer, name: string): void {
    if (this.copyChannel === null || this.overload === null) return;
    const copies = new ListenerCopies(server, this.copyChannel.forListener(name), LISTEN_BACKLOG, {
      listener: name,
    });
    if (copies.enabled) this.listenerCopies.push(copies);
  }

  /** Stops accepting connections, lets in-flight requests finish (bounded), closes the pools. */
  async close(): Promise<void> {
    if (this.dnsRefresh !== null) clearImmediate(this.dnsRefresh);
    if (this.vaultTimer !== null) clearTimeout(this.vaultTimer);
    this.vaultTimer = null;
    this.dns?.close();
    this.balancers.close();
    this.connections.close();
    this.overload?.stop();
    const copiesClosed = Promise.all(this.listenerCopies.map((c) => c.close()));
    this.listenerCopies = [];
    const h2Closed = this.h2?.close();
    const tlsClosed = this.tls.close();
    const closed = new Promise<void>((resolve) => {
      if (!this.server.listening) {
        resolve();
        return;
      }
      this.server.close(() => resolve());
    });
    this.server.closeIdleConnections();
    this.sniffing?.closeUndecided();
    const force = setTimeout(() => this.server.closeAllConnections(), 5_000);
    force.unref();
    await closed;
    await copiesClosed;
    await tlsClosed;
    await h2Closed;
    clearTimeout(force);
    await this.pools.closeAll();
    await this.settings.tracer?.shutdown();
  }

  private handle(
    req: IncomingMessage,
    res: ServerResponse,
    expectContinue: boolean,
    upgraded: boolean,
  ): void {
    const state = this.state;
    // Load shedding comes first: a shed request costs as little as it can (proxy/overload.ts).
    if (this.overload !== null && !this.overload.admit(res)) {
      if (this.connections.admitRequest(req, res, false)) sendError(res, ProxyErrorCode.OVERLOADED);
      return;
    }
    if (state === null) {
      // Listening from boot: until a configuration is in place, every request is told so.
      if (this.connections.admitRequest(req, res, false)) sendError(res, ProxyErrorCode.NO_CONFIG);
      return;
    }
    const head = readRequestHead(req, this.settings.policy);
    if (typeof head === 'string') {
      if (this.connections.admitRequest(req, res, false)) sendError(res, head);
      return;
    }
    const request = new ProxyRequest(req, res, head, this.settings, upgraded);
    if (!this.connections.admitRequest(req, res, request.hasBody, expectContinue)) return;
    if (upgraded && request.hasBody) {
      sendError(res, ProxyErrorCode.BAD_REQUEST);
      return;
    }
    if (this.observers.active) this.observers.watch(request);
    request.expectContinue = expectContinue;
    const match = state.router.match(request);
    if (match === null) {
      sendError(res, ProxyErrorCode.NO_ROUTE);
      return;
    }
    const entry = match.entry;
    // Kong's check: the forwarded proto (a trusted load balancer's X-Forwarded-Proto) decides.
    if (!entry.allowsHttp && request.forwardedProto !== 'https') {
      const host = request.host;
      if (entry.httpsRedirectStatus === 426 || host === undefined) {
        sendError(res, ProxyErrorCode.HTTPS_REQUIRED);
      } else {
        sendHttpsRedirect(res, entry.httpsRedirectStatus, `https://${hostWithoutPort(host)}${head.url}`);
      }
      return;
    }
    request.routeTo(match);
    if (entry.chain !== null) {
      this.runner.handle(request, state.plugins!.snapshot);
      return;
    }
    // Kong (kong/init.lua): a route without a service answers 503 (after its plugins, if any).
    if (entry.service === null) {
      sendError(res, ProxyErrorCode.NO_SERVICE);
      return;
    }
    if (expectContinue) res.writeContinue();
    dispatchUpstream(request, new UpstreamExchange(request));
  }
}

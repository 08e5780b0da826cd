/**
 * The one harness for plugin unit tests: the real `PluginRequest` over a fake IncomingMessage (no
 * sockets), a snapshot index, `initialise` (validate + init, as a swap does) and `outcome` (what a
 * handler did, read from the request). Every test builds its request through `pluginRequest` and
 * reads results through `outcome`, so a change of `PluginRequest`'s shape is adapted here only.
 */
import { X509Certificate } from 'node:crypto';
import { Readable } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  completeConfig,
  createLogger,
  ROUTE_DEFAULTS,
  schema,
  type GatehouseConfig,
  type Route,
  type Service,
} from '@gatehouse/shared';
import type { HeaderValue, PluginConfig, PluginDefinition } from '../api.js';
import { ProxyRequest, type ProxyRoute, type RequestSettings } from '../../proxy/request.js';
import { DEFAULT_REQUEST_POLICY, type RequestHead } from '../../proxy/request-head.js';
import { resolveRequestPath } from '../../proxy/path-policy.js';
import { DestinationPlanner } from '../../proxy/destinations.js';
import { planServiceEndpoint } from '../../proxy/service-endpoint.js';
import { IDENTITY_HEADERS, PluginRequest } from './context.js';
import { SnapshotIndex } from './snapshot-view.js';

const logger = createLogger('plugin-unit', { level: 'silent' });
const settings: RequestSettings = {
  logger,
  clientIps: null,
  forwardedPort: '80',
  tlsForwardedPort: '443',
  policy: DEFAULT_REQUEST_POLICY,
};

/** The route every test request matched (id 'r'). */
export const TEST_ROUTE: Route = {
  ...ROUTE_DEFAULTS,
  protocols: ['http', 'https'],
  id: 'r',
  name: 'r',
  service: null,
  created_at: 0,
  updated_at: 0,
};

export interface TestRequest {
  method?: string;
  path?: string;
  /** The raw query string, without `?`. */
  query?: string;
  host?: string;
  clientIp?: string;
  /** In order, as the client sent them (repeated names allowed). */
  headers?: [string, string][];
  body?: string | Buffer;
  /** Default `1.1`. */
  httpVersion?: string;
  /** The route's regex captures (Kong's uri_captures), as the router gives them. */
  captures?: Record<string, string | undefined>;
  /**
   * A TLS connection whose client presented `cert` (PEM) and then `chain` (PEMs, issuer first),
   * as node's getPeerCertificate(true) links them; `{}` is a TLS connection without one.
   */
  tls?: { cert?: string; chain?: readonly string[] };
  /** The service the route proxies to (default: none). */
  service?: Service;
}

/** A fake TLS socket's `getPeerCertificate(true)`: the PEMs linked through issuerCertificate. */
function peerCertificate(tls: { cert?: string; chain?: readonly string[] }): () => object {
  return () => {
    if (tls.cert === undefined) return {};
    const der = (pem: string) => new X509Certificate(pem).raw;
    const links = [tls.cert, ...(tls.chain ?? [])].map((pem): Record<string, unknown> => ({ raw: der(pem) }));
    links.forEach((l, i) => {
      l.issuerCertificate = links[i + 1] ?? l;
    });
    return links[0]!;
  };
}

/** A real PluginRequest for `r` on `snapshot` (default: an empty configuration). */
export function pluginRequest(snapshot: SnapshotIndex = snapshotOf({}), r: TestRequest = {}): PluginRequest {
  const body = r.body === undefined ? Buffer.alloc(0) : Buffer.from(r.body);
  const url = r.query === undefined || r.query === '' ? (r.path ?? '/') : `${r.path ?? '/'}?${r.query}`;
  const req = Readable.from(body.length === 0 ? [] : [body]) as unknown as IncomingMessage;
  Object.assign(req, {
    rawHeaders: (r.headers ?? []).flat(),
    method: r.method ?? 'GET',
    httpVersion: r.httpVersion ?? '1.1',
    url,
    socket:
      r.tls === undefined
        ? { remoteAddress: r.clientIp ?? '127.0.0.1' }
        : {
            remoteAddress: r.clientIp ?? '127.0.0.1',
            encrypted: true,
            getPeerCertificate: peerCertificate(r.tls),
          },
  });
  // The proxy's request record, as the server handler builds it; `host` as the test names it.
  const path = resolveRequestPath(r.path ?? '/', settings.policy.pathEscapedSlashes);
  if (path === null) throw new Error(`test path refused by the proxy's path policy: ${r.path}`);
  const head: RequestHead = {
    url,
    rawPath: r.path ?? '/',
    rawQuery: r.query ?? '',
    path,
    host: r.host,
    rawHeaders: (r.headers ?? []).flat(),
  };
  const request = new ProxyRequest(req, {} as ServerResponse, head, settings);
  request.entry = { route: TEST_ROUTE, service: r.service ?? null } as unknown as ProxyRoute;
  request.captures = r.captures ?? null;
  return new PluginRequest(request, snapshot);
}

export function snapshotOf(partial: Partial<GatehouseConfig>): SnapshotIndex {
  return new SnapshotIndex(completeConfig(partial));
}

/** Validates `config` with the plugin's schema and runs its init, as a swap does. */
export function initialise<F extends schema.RecordField, S>(
  def: PluginDefinition<F, S>,
  snapshot: SnapshotIndex,
  config: Record<string, unknown>,
): S {
  const value = schema.validate(def.schema, config).value;
  const info = {
    id: 'p',
    name: def.name,
    instanceName: null,
    route: null,
    service: null,
    consumer: null,
    consumerGroup: null,
  };
  return def.init === undefined
    ? (value as S)
    : def.init(value as PluginConfig<F>, {
        snapshot,
        instance: info,
        log: logger,
        // Planned, never compiled for a service (the test route has none).
        destination: (host, port) =>
          new DestinationPlanner().plan(host, port, { route: null, service: null }),
        // Planned, never compiled: its requests fail as a service that is not proxied.
        service: (nameOrId) =>
          planServiceEndpoint(snapshot.config.services, nameOrId, new DestinationPlanner()),
      });
}

/**
 * Gives `ctx` the response the response phase sees: `status`, the upstream's `headers` (in
 * order) and, for a buffered response, its `body`.
 */
export function upstreamResponse(
  ctx: PluginRequest,
  status: number,
  headers: [string, string][] = [],
  body: string | Buffer | null = null,
): void {
  ctx.setResponse(status, headers.flat(), body === null ? null : Buffer.from(body));
}

/** Runs a handler, awaiting it when it returns a promise. */
export async function run(result: void | Promise<void>): Promise<void> {
  if (result !== undefined) await result;
}

export interface Answer {
  status: number;
  /** The headers given to `respond`. */
  headers: Record<string, HeaderValue>;
  /** The Content-Type the gateway adds (null when `headers` carries one, or there is no body). */
  contentType: string | null;
  /** The body as text, or null. */
  text: string | null;
  /** The body parsed as JSON when it is JSON, else null. */
  json: unknown;
}

/** What the handlers did to a request. */
export interface Outcome {
  /** The short-circuit answer (`respond`), or null when the request goes on. */
  answer: Answer | null;
  /** Headers set on the upstream request by lower-case name; null: removed. */
  upstreamHeaders: Record<string, HeaderValue | null>;
  /** Headers set on the client's response, by lower-case name; null: removed. */
  responseHeaders: Record<string, HeaderValue | null>;
  /** The method, path and query set for the upstream request (null: unchanged). */
  upstreamMethod: string | null;
  upstreamPath: string | null;
  upstreamQuery: string | null;
  /** The upstream body a handler set (setUpstreamBody), as text, or null. */
  upstreamBody: string | null;
  /** The response body a handler set (setResponseBody), as text, or null. */
  responseBody: string | null;
  removedQueryArgs: string[];
  /** The cap set through `limitBody`, or null. */
  bodyLimit: number | null;
  /** Whether a handler read the request body. */
  bodyRead: boolean;
}

export function outcome(ctx: PluginRequest): Outcome {
  const sc = ctx.shortCircuit;
  let answer: Answer | null = null;
  if (sc !== null) {
    const text = sc.body === null ? null : sc.body.toString();
    let json: unknown = null;
    if (text !== null && sc.contentType !== null && sc.contentType.startsWith('application/json'))
      json = JSON.parse(text);
    answer = { status: sc.status, headers: sc.headers, contentType: sc.contentType, text, json };
  }
  const responseHeaders: Record<string, HeaderValue | null> = {};
  for (const [name, { value }] of ctx.responseHeaders ?? []) responseHeaders[name] = value;
  const upstreamHeaders: Record<string, HeaderValue | null> = Object.fromEntries(ctx.upstreamHeaders ?? []);
  // An authenticated request drops the client's identity headers: removed unless a plugin set them.
  if (ctx.identityReset) for (const name of IDENTITY_HEADERS) upstreamHeaders[name] ??= null;
  return {
    answer,
    upstreamHeaders,
    responseHeaders,
    upstreamMethod: ctx.upstreamMethod,
    upstreamPath: ctx.upstreamPath,
    upstreamQuery: ctx.upstreamQuery,
    upstreamBody: ctx.upstreamBody === null ? null : ctx.upstreamBody.toString(),
    responseBody: ctx.responseBody === null ? null : ctx.responseBody.toString(),
    removedQueryArgs: [...(ctx.removedQueryArgs ?? [])],
    bodyLimit: ctx.bodyLimit,
    bodyRead: ctx.bodyBuffer !== null,
  };
}

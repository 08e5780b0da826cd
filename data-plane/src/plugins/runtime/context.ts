/**
 * The per-request plugin context. One object per request on routes with plugins, wrapped around
 * the proxy's request record (ProxyRequest: method, paths, host, client address, route are read
 * from it, never copied); every field is assigned in the constructor (one hidden class), lazily
 * built views (query, headers map, child logger) stay null until asked for.
 */
import type { IncomingMessage } from 'node:http';
import type { ProxyRequest, RequestTimings } from '../../proxy/request.js';
import type { Consumer, ConsumerGroup, Logger, Route, Service } from '@gatehouse/shared';
import { Destination } from '../../proxy/destinations.js';
import type {
  CredentialRef,
  HeaderValue,
  ResponseTransform,
  PluginContext,
  RequestView,
  ResponseView,
  UpstreamDestination,
} from '../api.js';
import { PluginErrors } from '../errors.js';
import type { Instance, Slot } from './compile.js';
import type { SnapshotIndex } from './snapshot-view.js';
import type { BodyLimit } from './body-limit.js';
import { PluginResponse, type ResponseHeaderOps } from './response-view.js';
import { lowerName } from './header-names.js';
import { readBody } from '../../proxy/read-body.js';
import { serializeLog, type LogEntry } from '../../observe/log-entry.js';
import { clientCertificateOf, type ClientCertificate } from '../../tls/client-certificate.js';

const DEFAULT_BODY_LIMIT = 8 * 1024 * 1024;
const NO_GROUPS: readonly ConsumerGroup[] = Object.freeze([]);
const NO_CAPTURES: Readonly<Record<string, string>> = Object.freeze(
  Object.create(null) as Record<string, string>,
);

/** An HTTP method token (RFC 9110 `token`). */
const METHOD_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Bytes not allowed as they are in a request target's path or query (RFC 3986 pchar, '/', '?', '%'). */
const TARGET_UNSAFE = /[\ud800-\udbff][\udc00-\udfff]|[^A-Za-z0-9\-._~!$&'()*+,;=:@/?%]|%(?![0-9A-Fa-f]{2})/g;

/** `s` with every character a request target may not carry percent-encoded (UTF-8). */
export function encodeTarget(s: string): string {
  TARGET_UNSAFE.lastIndex = 0;
  if (!TARGET_UNSAFE.test(s)) return s;
  return s.replace(TARGET_UNSAFE, percentEncode);
}

function percentEncode(c: string): string {
  let out = '';
  for (const byte of Buffer.from(c, 'utf8'))
    out += `%${byte < 16 ? '0' : ''}${byte.toString(16).toUpperCase()}`;
  return out;
}

export interface ShortCircuit {
  status: number;
  body: Buffer | null;
  /** Content-Type of `body`; null when there is no body or `headers` carries one. */
  contentType: string | null;
  headers: Record<string, HeaderValue>;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const RAW_TYPE = 'application/octet-stream';

function hasContentType(headers: Record<string, HeaderValue>): boolean {
  for (const name of Object.keys(headers)) if (name.toLowerCase() === 'content-type') return true;
  return false;
}

/** The identity headers `authenticate` sets (or removes, so a client's never passes). */
export const CONSUMER_HEADERS = [
  'x-consumer-id',
  'x-consumer-custom-id',
  'x-consumer-username',
  'x-consumer-groups',
  'x-credential-identifier',
  'x-anonymous-consumer',
] as const;

/**
 * The other identity headers Kong's auth plugins set (oauth2's X-Authenticated-Scope/-Userid,
 * acl's and ldap-auth's X-Authenticated-Groups, ldap-auth's X-Credential-Username): a client's
 * own is removed when a request is authenticated, unless a plugin of this request set it first
 * (oauth2-introspection sets X-Credential-Username before it authenticates).
 */
export const AUTH_SET_HEADERS = [
  'x-authenticated-groups',
  'x-authenticated-scope',
  'x-authenticated-userid',
  'x-credential-username',
  'x-anonymous-groups',
] as const;

/** Every header a client's own copy of is dropped once a request is authenticated. */
export const IDENTITY_HEADERS: ReadonlySet<string> = new Set<string>([
  ...CONSUMER_HEADERS,
  ...AUTH_SET_HEADERS,
]);

export class PluginRequest implements PluginContext, RequestView {
  readonly startedAt: number;

  consumer: Consumer | null = null;
  credential: CredentialRef | null = null;
  anonymous = false;
  consumerGroups: readonly ConsumerGroup[] = NO_GROUPS;
  responded = false;
  shortCircuit: ShortCircuit | null = null;
  response: ResponseView | null = null;

  /** lower-case name -> value (null = removed). */
  upstreamHeaders: Map<string, HeaderValue | null> | null = null;
  /**
   * The request was authenticated: the client's own IDENTITY_HEADERS are dropped on the way
   * upstream (those in `upstreamHeaders` are sent as set there). One flag in place of a removal
   * entry per name per request.
   */
  identityReset = false;
  removedQueryArgs: Set<string> | null = null;
  upstreamBody: Buffer | null = null;
  /** The request body once read by a plugin. */
  bodyBuffer: Buffer | null = null;
  /** The cap set through `limitBody` (the smallest one asked for), or null. */
  bodyLimit: number | null = null;
  /** The capped stream sent upstream when `bodyLimit` is set and the body streams. */
  bodyLimiter: BodyLimit | null = null;
  responseHeaders: ResponseHeaderOps | null = null;
  /** The method, path and query a plugin set for the upstream request, or null (unchanged). */
  upstreamMethod: string | null = null;
  upstreamPath: string | null = null;
  upstreamQuery: string | null = null;
  /** The body a response-phase plugin put in place of the upstream's, or null. */
  responseBody: Buffer | null = null;
  /** The cap on a buffered response body (`limitResponseBody`), or null. */
  responseBodyLimit: number | null = null;
  /** The streaming re-encoding of the response a plugin asked for (`transformResponse`), or null. */
  responseTransform: ResponseTransform | null = null;

  private queryParams: URLSearchParams | null = null;
  private headerMap: Record<string, string[]> | null = null;
  private childLog: Logger | null = null;
  private bodyPromise: Promise<Buffer> | null = null;
  private sharedStore: Record<string, unknown> | null = null;
  private captureView: Readonly<Record<string, string>> | null = null;

  constructor(
    /** The proxy's record of this request. */
    readonly proxied: ProxyRequest,
    private readonly snapshot: SnapshotIndex,
  ) {
    this.startedAt = performance.now();
  }

  get req(): IncomingMessage {
    return this.proxied.req;
  }
  /**
   * The client's headers as plugins read them: the request's own, less the names the request
   * policy drops (underscored names, unless `--underscores-in-headers`), as routing and the
   * upstream see them; on HTTP/2 without pseudo-headers, `:authority` as `host`, cookies joined.
   */
  private get clientHeaders(): readonly string[] {
    return this.proxied.rawHeaders;
  }
  get method(): string {
    return this.proxied.method;
  }
  get path(): string {
    return this.proxied.path;
  }
  get rawPath(): string {
    return this.proxied.rawPath;
  }
  get rawQuery(): string {
    return this.proxied.rawQuery;
  }
  get host(): string | undefined {
    return this.proxied.host;
  }
  get scheme(): string {
    return this.proxied.scheme;
  }
  get forwardedProto(): string {
    return this.proxied.forwardedProto;
  }
  get clientIp(): string {
    return this.proxied.clientIp;
  }
  get port(): number {
    return Number(this.proxied.forwardedPort);
  }
  get httpVersion(): string {
    return this.req.httpVersion;
  }
  get route(): Route {
    return this.proxied.route.route;
  }
  get service(): Service | null {
    return this.proxied.route.service;
  }

  get request(): RequestView {
    return this;
  }

  /** Kong's `kong.ctx.shared`, created on first use. */
  get shared(): Record<string, unknown> {
    return (this.sharedStore ??= {});
  }

  get log(): Logger {
    // The query string and credentials are never bound: only the path and the route.
    return (this.childLog ??= this.proxied.logger.child({
      method: this.method,
      path: this.rawPath,
      route: this.route.id,
      service: this.service?.id ?? null,
    }));
  }

  get timings(): RequestTimings {
    return this.proxied;
  }

  elapsedMs(): number {
    return performance.now() - this.startedAt;
  }

  serialize(): LogEntry {
    return serializeLog(this);
  }

  // --- RequestView ---

  get query(): URLSearchParams {
    return (this.queryParams ??= new URLSearchParams(this.rawQuery));
  }

  header(name: string): string | undefined {
    const raw = this.clientHeaders;
    const n = name.length;
    for (let i = 0; i < raw.length; i += 2) {
      const k = raw[i]!;
      if (k.length === n && (k === name || k.toLowerCase() === name.toLowerCase())) return raw[i + 1];
    }
    return undefined;
  }

  clientCertificate(): ClientCertificate | null {
    return clientCertificateOf(this.req.socket);
  }

  headerValues(name: string): string[] {
    const raw = this.clientHeaders;
    const n = name.length;
    const out: string[] = [];
    for (let i = 0; i < raw.length; i += 2) {
      const k = raw[i]!;
      if (k.length === n && (k === name || k.toLowerCase() === name.toLowerCase())) out.push(raw[i + 1]!);
    }
    return out;
  }

  get uriCaptures(): Readonly<Record<string, string>> {
    if (this.captureView === null) {
      const captures = this.proxied.captures;
      if (captures === null) return (this.captureView = NO_CAPTURES);
      const view = Object.create(null) as Record<string, string>;
      for (const key of Object.keys(captures)) {
        const v = captures[key];
        if (v !== undefined) view[key] = v;
      }
      this.captureView = Object.freeze(view);
    }
    return this.captureView;
  }

  headers(): Readonly<Record<string, string[]>> {
    if (this.headerMap === null) {
      const m: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
      const raw = this.clientHeaders;
      for (let i = 0; i < raw.length; i += 2) (m[raw[i]!.toLowerCase()] ??= []).push(raw[i + 1]!);
      this.headerMap = m;
    }
    return this.headerMap;
  }

  /**
   * Lets the body come: a client that sent `Expect: 100-continue` gets `100 Continue` (once),
   * when a plugin reads the body or the request goes upstream (never on a short-circuit).
   */
  continueBody(): void {
    const proxied = this.proxied;
    if (proxied.expectContinue) {
      proxied.expectContinue = false;
      proxied.res.writeContinue();
    }
  }

  limitBody(maxBytes: number): void {
    if (this.bodyLimit === null || maxBytes < this.bodyLimit) this.bodyLimit = maxBytes;
  }

  body(readLimit = DEFAULT_BODY_LIMIT): Promise<Buffer> {
    const limit = this.bodyLimit === null ? readLimit : Math.min(readLimit, this.bodyLimit);
    this.bodyPromise ??= new Promise<Buffer>((resolve, reject) => {
      this.continueBody();
      readBody(this.req, limit, {
        whole: (body) => {
          this.bodyBuffer = body;
          resolve(body);
        },
        over: () => {
          // The rest is discarded as it comes (the answer is a 413).
          this.req.resume();
          reject(PluginErrors.bodyTooLarge(`request body larger than ${limit} bytes`));
        },
        failed: reject,
      });
    });
    return this.bodyPromise;
  }

  // --- consumer ---

  findConsumer(idOrUsername: string): Consumer | null {
    return this.snapshot.findConsumer(idOrUsername) ?? null;
  }

  authenticate(
    consumer: Consumer | null,
    credential: CredentialRef | null,
    options?: { anonymous?: boolean },
  ): void {
    this.consumer = consumer;
    this.credential = credential;
    this.anonymous = options?.anonymous === true;
    this.consumerGroups = consumer === null ? NO_GROUPS : this.snapshot.groupsOf(consumer.id);
    this.proxied.consumerName =
      consumer === null ? undefined : (consumer.username ?? consumer.custom_id ?? undefined);
    // The client's identity headers are dropped upstream (identityReset); values an earlier
    // authentication set are cleared, values another plugin set for AUTH_SET_HEADERS are kept.
    this.identityReset = true;
    let h = this.upstreamHeaders;
    if (h !== null && h.size > 0) for (const name of CONSUMER_HEADERS) h.delete(name);
    if (consumer !== null) {
      h ??= this.upstreamHeaders = new Map();
      h.set('x-consumer-id', consumer.id);
      if (consumer.custom_id !== null) h.set('x-consumer-custom-id', consumer.custom_id);
      if (consumer.username !== null) h.set('x-consumer-username', consumer.username);
      if (this.consumerGroups.length > 0)
        h.set('x-consumer-groups', this.consumerGroups.map((g) => g.name).join(', '));
    }
    if (credential !== null) {
      if (credential.identifier !== null)
        (h ??= this.upstreamHeaders = new Map()).set('x-credential-identifier', credential.identifier);
    } else {
      (h ??= this.upstreamHeaders = new Map()).set('x-anonymous-consumer', 'true');
    }
  }

  /** Sets the response view of the response and log phases (headers read with plugins' changes). */
  setResponse(
    status: number,
    headers: readonly string[],
    body: Buffer | null,
    trailers: readonly string[] | null = null,
  ): PluginResponse {
    const view = new PluginResponse(status, headers, () => this.responseHeaders, body, trailers);
    this.response = view;
    return view;
  }

  /** The instance of `slot` that applies to this request (Kong's scope precedence). */
  instanceFor(slot: Slot): Instance | null {
    const consumer = this.consumer;
    if (consumer !== null && slot.before !== null) {
      for (const level of slot.before) {
        if (level.byGroup) {
          for (const g of this.consumerGroups) {
            const hit = level.map.get(g.id);
            if (hit !== undefined) return hit;
          }
        } else {
          const hit = level.map.get(consumer.id);
          if (hit !== undefined) return hit;
        }
      }
    }
    return slot.base;
  }

  // --- mutations ---

  setUpstreamHeader(name: string, value: HeaderValue): void {
    (this.upstreamHeaders ??= new Map()).set(lowerName(name), value);
  }

  removeUpstreamHeader(name: string): void {
    (this.upstreamHeaders ??= new Map()).set(lowerName(name), null);
  }

  removeUpstreamQueryArg(name: string): void {
    (this.removedQueryArgs ??= new Set()).add(name);
  }

  credentialInQuery(name: string): void {
    (this.proxied.credentialQueryArgs ??= new Set()).add(name);
  }

  credentialInHeader(name: string): void {
    (this.proxied.credentialHeaders ??= new Set()).add(name.toLowerCase());
  }

  setUpstreamBody(body: Buffer): void {
    this.upstreamBody = body;
  }

  setUpstreamMethod(method: string): void {
    if (!METHOD_RE.test(method)) throw new TypeError(`'${method}' is not a valid HTTP method`);
    this.upstreamMethod = method;
  }

  setUpstreamPath(path: string): void {
    if (!path.startsWith('/')) throw new TypeError(`upstream path must start with '/': '${path}'`);
    this.upstreamPath = encodeTarget(path).replaceAll('?', '%3F');
  }

  setUpstreamQuery(query: string): void {
    this.upstreamQuery = encodeTarget(query);
  }

  setUpstreamDestination(destination: UpstreamDestination): void {
    if (!(destination instanceof Destination))
      throw new TypeError('setUpstreamDestination takes a destination from InitContext.destination');
    const proxied = this.proxied;
    const service = proxied.route.service;
    // A route without a service is answered 503 once its plugins ran: nothing to send anywhere.
    if (service === null) return;
    const target = destination.targetFor(service.id);
    if (target === undefined)
      throw new Error(`destination ${destination.label} was not compiled for service ${service.id}`);
    proxied.retarget(target);
  }

  setResponseHeader(name: string, value: HeaderValue): void {
    (this.responseHeaders ??= new Map()).set(lowerName(name), { name, value });
  }

  removeResponseHeader(name: string): void {
    (this.responseHeaders ??= new Map()).set(lowerName(name), { name, value: null });
  }

  setResponseBody(body: Buffer): void {
    const response = this.response;
    if (response === null || response.body === null)
      throw new TypeError('setResponseBody needs a buffered response (bufferResponse)');
    this.responseBody = body;
    (response as { body: Buffer | null }).body = body;
  }

  limitResponseBody(maxBytes: number): void {
    if (this.responseBodyLimit === null || maxBytes < this.responseBodyLimit)
      this.responseBodyLimit = maxBytes;
  }

  transformResponse(transform: ResponseTransform): void {
    this.responseTransform = transform;
  }

  respond(
    status: number,
    message?: string | Buffer | Record<string, unknown>,
    headers?: Record<string, HeaderValue>,
  ): void {
    if (this.responded) return;
    this.responded = true;
    const h = headers ?? {};
    if (status === 204 || status === 304 || message === undefined) {
      this.shortCircuit = { status, body: null, contentType: null, headers: h };
      return;
    }
    const raw = Buffer.isBuffer(message);
    const body = raw
      ? message
      : Buffer.from(JSON.stringify(typeof message === 'string' ? { message } : message));
    // A raw body takes its type from `headers`; JSON bodies always say they are JSON.
    const contentType = raw ? (hasContentType(h) ? null : RAW_TYPE) : JSON_TYPE;
    this.shortCircuit = { status, body, contentType, headers: h };
  }
}

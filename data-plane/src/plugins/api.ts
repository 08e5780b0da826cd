/**
 * The plugin API: what a bundled or custom plugin is (`definePlugin`) and what it sees per
 * request (`PluginContext`). Kong's model: a plugin has a name, a version, a numeric priority
 * (higher runs first, ties by name), a config schema and one handler per phase. `init` turns a
 * validated config into ready-to-use state once per snapshot; handlers only read that state.
 * Handlers are sync-first: return nothing, or a promise when they must wait (the runner awaits
 * only thenables). `ctx.respond()` is the one way to short-circuit a request.
 */
import type {
  Consumer,
  ConsumerGroup,
  GatehouseConfig,
  Logger,
  PluginProtocol,
  Route,
  Service,
  schema,
} from '@gatehouse/shared';
import type { RequestTimings } from '../proxy/request.js';
import type { LogEntry } from '../observe/log-entry.js';
import type { ClientCertificate } from '../tls/client-certificate.js';

export type { ClientCertificate } from '../tls/client-certificate.js';

export type PhaseName = 'rewrite' | 'access' | 'response' | 'log';
export const PHASES: readonly PhaseName[] = ['rewrite', 'access', 'response', 'log'];

/** Read-only view of the incoming request. Header names are matched case-insensitively. */
export interface RequestView {
  readonly method: string;
  /** The normalised request path (no query string). */
  readonly path: string;
  /** The request path as the client sent it (no query string). */
  readonly rawPath: string;
  /** The raw query string without `?` ('' when none). */
  readonly rawQuery: string;
  /** Parsed query arguments (built on first use). */
  readonly query: URLSearchParams;
  readonly host: string | undefined;
  /** 'http' or 'https'. */
  readonly scheme: string;
  /**
   * The scheme the client used: a trusted proxy's X-Forwarded-Proto, else `scheme` (what Kong's
   * check_https reads when a plugin accepts HTTP already terminated at a proxy).
   */
  readonly forwardedProto: string;
  /** The client address (the TCP peer; a trusted-proxy resolution may replace it). */
  readonly clientIp: string;
  /** The port of the listener the request came in on (Kong's `kong.request.get_port()`). */
  readonly port: number;
  /** The request's HTTP version as node reads it: `1.0`, `1.1`, `2.0`. */
  readonly httpVersion: string;
  /** The first value of a header, or undefined. */
  header(name: string): string | undefined;
  /** Every value of a header (in order). */
  headerValues(name: string): string[];
  /** Every header as lower-case name -> values (built on first use). */
  headers(): Readonly<Record<string, string[]>>;
  /**
   * The certificate the client presented in the TLS handshake (with the chain it sent), parsed
   * once per connection; null on plain HTTP or when it sent none. The HTTPS listener asks for one
   * only while some mtls-auth instance is enabled, and never verifies it: the plugin does.
   */
  clientCertificate(): ClientCertificate | null;
  /**
   * The route's regex captures (Kong's `uri_captures`): the whole match as '0', positional
   * captures as '1', '2'…, and named groups by name; empty when the route matched no regex.
   * Unmatched optional groups are absent. A null-prototype, frozen object.
   */
  readonly uriCaptures: Readonly<Record<string, string>>;
  /**
   * Reads the whole request body (at most `limit` bytes, default 8 MiB; larger → rejects with
   * GH_ERR_PLUGIN_BODY_TOO_LARGE). The proxy then sends the buffered body upstream.
   */
  body(limit?: number): Promise<Buffer>;
  /**
   * Caps the request body at `maxBytes` while it streams upstream (nothing is buffered): the
   * first byte over the cap aborts the upstream request and the client gets 413 "Request size
   * limit exceeded" (or, once the response has started, its connection is closed). A body a
   * plugin reads with `body()` is held to the cap too. Several calls keep the smallest cap.
   */
  limitBody(maxBytes: number): void;
}

/** The credential an auth plugin matched (Kong's `kong.client.get_credential()`). */
export interface CredentialRef {
  readonly id: string;
  /** Which plugin matched it (e.g. 'key-auth'). */
  readonly type: string;
  /** Kong's X-Credential-Identifier: the key id, username, JWT key, client id… */
  readonly identifier: string | null;
  readonly consumerId: string | null;
}

/** The response head `bufferResponse` decides on (status and headers as the upstream sent them). */
export interface ResponseHead {
  readonly status: number;
  header(name: string): string | undefined;
}

/**
 * What the response phase sees of the upstream's response (or of a short-circuit). The headers
 * read include what earlier plugins of the phase set or removed.
 */
export interface ResponseView {
  readonly status: number;
  /** The first value of a header, or undefined. */
  header(name: string): string | undefined;
  /** Every value of a header (in order; empty when none). */
  headerValues(name: string): string[];
  /** Every header as [name, value] pairs, in the order they are sent (plugins' changes included). */
  headerPairs(): [string, string][];
  /**
   * The first value of an upstream trailer (an HTTP/2 upstream's: gRPC's `grpc-status`,
   * `grpc-message`), known only with a buffered body (`body` not null); else undefined.
   */
  trailer(name: string): string | undefined;
  /**
   * The whole body, present only when some plugin's `bufferResponse` asked for it for this
   * response (and it fitted the runtime's buffer limit); else null. After `setResponseBody`, the
   * replaced body.
   */
  readonly body: Buffer | null;
}

export type HeaderValue = string | readonly string[];

/**
 * A streaming re-encoding of one response (`PluginContext.transformResponse`). Its methods are
 * called in order, once the upstream's head is in: `head`, `data` per chunk, `end` once.
 */
export interface ResponseTransform {
  /**
   * The headers to send in place of the upstream's (a new array; Content-Length is dropped
   * whatever it returns), or null to pass this response through unchanged.
   */
  head(status: number, headers: readonly string[]): string[] | null;
  /** One body chunk as it is sent (may be empty). */
  data(chunk: Buffer): Buffer;
  /** The last bytes of the body, given the upstream's trailers (null when it sent none). */
  end(trailers: readonly string[] | null): Buffer;
}

export interface PluginContext {
  readonly request: RequestView;
  readonly route: Route;
  readonly service: Service | null;
  /** The authenticated (or anonymous) consumer, set by an auth plugin through `authenticate`. */
  readonly consumer: Consumer | null;
  readonly credential: CredentialRef | null;
  /** True when the consumer is the configured anonymous consumer. */
  readonly anonymous: boolean;
  /** The consumer's groups (empty when none). */
  readonly consumerGroups: readonly ConsumerGroup[];
  /** Per-request storage shared by all plugins (Kong's `kong.ctx.shared`). */
  readonly shared: Record<string, unknown>;
  /** Request-scoped logger (route, service and request id bound). Never log credentials. */
  readonly log: Logger;
  /** Set once a plugin called `respond`; later handlers of the phase are skipped. */
  readonly responded: boolean;
  /** Response info in the response and log phases; null before. */
  readonly response: ResponseView | null;
  /** Milliseconds since the gateway received the request (log phase: total latency). */
  elapsedMs(): number;
  /**
   * When the request passed each point and its sizes (see observe/latencies.ts for the derived
   * latencies); complete in the log phase (end time and bytes are set when the response closed).
   */
  readonly timings: RequestTimings;
  /**
   * Kong's `kong.log.serialize()`: the request as a log entry (request, response, route,
   * service, consumer, latencies, client_ip, started_at…). Log phase only.
   */
  serialize(): LogEntry;

  /**
   * Sets the authenticated consumer and credential (Kong's `kong.client.authenticate`) and the
   * upstream headers X-Consumer-ID, X-Consumer-Username, X-Consumer-Custom-ID,
   * X-Consumer-Groups, X-Credential-Identifier and X-Anonymous-Consumer (each set or removed, so
   * a client can never spoof them). `credential` null with `anonymous` true is the anonymous path.
   */
  authenticate(
    consumer: Consumer | null,
    credential: CredentialRef | null,
    options?: { anonymous?: boolean },
  ): void;
  /** Looks up a consumer by id or username (for `anonymous`): one Map lookup. */
  findConsumer(idOrUsername: string): Consumer | null;

  /** Replaces (or adds) a header sent upstream. */
  setUpstreamHeader(name: string, value: HeaderValue): void;
  /** Removes a header from the upstream request. */
  removeUpstreamHeader(name: string): void;
  /** Removes a query argument from the upstream request (e.g. hide_credentials). */
  removeUpstreamQueryArg(name: string): void;
  /**
   * Says query argument `name` carries a credential (an API key, a token): the access log writes
   * its value as `[REDACTED]` (whether or not it was valid, and whatever hide_credentials says).
   */
  credentialInQuery(name: string): void;
  /**
   * Says request header `name` carries a credential (an API key): the log plugins' entry writes
   * its value as `REDACTED`, as Kong does for Authorization (whether or not it was valid).
   */
  credentialInHeader(name: string): void;
  /** Replaces the body sent upstream (Content-Length is adjusted). */
  setUpstreamBody(body: Buffer): void;
  /**
   * Sets the method sent upstream (Kong's `kong.service.request.set_method`): an HTTP token,
   * otherwise a TypeError.
   */
  setUpstreamMethod(method: string): void;
  /**
   * Sets the path sent upstream, replacing the route/service-derived one; the query string is
   * kept separately. It must start with '/' (else a TypeError); characters not allowed in a
   * request target are percent-encoded (Kong's `kong.service.request.set_path`).
   */
  setUpstreamPath(path: string): void;
  /**
   * Sets the raw query string sent upstream, without `?` ('' = none); characters not allowed
   * in a request target are percent-encoded. Arguments removed through `removeUpstreamQueryArg`
   * are removed from it too.
   */
  setUpstreamQuery(query: string): void;
  /**
   * Sends the request to `destination` (compiled in `init` by InitContext.destination) instead of
   * its service's host/port or upstream: the service's protocol, timeouts, TLS settings, retries
   * and path still apply; the Host header follows the destination unless the route preserves it.
   */
  setUpstreamDestination(destination: UpstreamDestination): void;
  /** Sets a header on the response sent to the client (proxied or short-circuited). */
  setResponseHeader(name: string, value: HeaderValue): void;
  /** Removes a header from the response sent to the client (every value of it). */
  removeResponseHeader(name: string): void;
  /**
   * Replaces the body sent to the client: only in the response phase of a plugin whose
   * `bufferResponse` is true for this response (`ctx.response.body` is not null), else a
   * TypeError. Content-Length is set to the new length and Transfer-Encoding dropped;
   * Content-Encoding is left as the upstream sent it (the plugin decides what it can change).
   */
  setResponseBody(body: Buffer): void;
  /**
   * Caps a buffered response body at `maxBytes`, for a plugin that must never let a body pass
   * unseen (call it before the response arrives, e.g. in access). A larger Content-Length, or
   * the first byte over the cap, aborts the upstream response and the client gets 502
   * GH_ERR_PLUGIN_RESPONSE_TOO_LARGE, instead of the body streaming unchanged as it does over
   * RESPONSE_BUFFER_LIMIT; the cap replaces that limit. A response no plugin buffers is not
   * capped. Several calls keep the smallest cap.
   */
  limitResponseBody(maxBytes: number): void;
  /**
   * Re-encodes the upstream's response as it streams (nothing is held back): `transform.head`
   * decides on the response head, then each body chunk goes through `transform.data`, and the
   * upstream's trailers through `transform.end` (they are then not sent as HTTP trailers). Call it
   * before the upstream answers (rewrite or access); the last call wins. gRPC-Web's framing.
   */
  transformResponse(transform: ResponseTransform): void;
  /**
   * Short-circuits: answers `status` with `{"message": message}` (or, when `message` is an
   * object, that object as JSON; when it is a Buffer, those bytes as they are, typed by the
   * `content-type` in `headers`, else application/octet-stream) and stops the chain. The
   * upstream is never called. 204 and 304 never carry a body.
   */
  respond(
    status: number,
    message?: string | Buffer | Record<string, unknown>,
    headers?: Record<string, HeaderValue>,
  ): void;
}

/** Everything `init` may use: the snapshot's entities, indexed once, and a per-snapshot memo. */
export interface SnapshotView {
  readonly config: GatehouseConfig;
  consumer(id: string): Consumer | undefined;
  /** By id or username. */
  findConsumer(idOrUsername: string): Consumer | undefined;
  groupsOf(consumerId: string): readonly ConsumerGroup[];
  /**
   * Computes `build()` once per snapshot and key (e.g. the key-auth key index shared by every
   * key-auth instance).
   */
  memo<T>(key: string, build: () => T): T;
}

/** The scope of one plugin instance (its Kong `plugins` row). */
export interface InstanceInfo {
  readonly id: string;
  readonly name: string;
  readonly instanceName: string | null;
  readonly route: string | null;
  readonly service: string | null;
  readonly consumer: string | null;
  readonly consumerGroup: string | null;
}

/**
 * Where a request may be sent instead of its service's target, compiled once per snapshot by
 * InitContext.destination (opaque to plugins beyond these reads).
 */
export interface UpstreamDestination {
  /** `host:port` as configured, for logs. */
  readonly label: string;
  /** The upstream entity the host names, or null when it is a plain host. */
  readonly upstream: string | null;
  /**
   * False when the host names an upstream that is down (no healthy target, or fewer than its
   * `healthchecks.threshold`); always true for a plain host.
   */
  healthy(): boolean;
}

/** One request a plugin sends to a service on its own (response-aggregation's calls). */
export interface EndpointRequest {
  /** GET, HEAD… (the request has no body). */
  readonly method: string;
  /** Path and query, already encoded, starting with '/': appended to the service's path. */
  readonly pathAndQuery: string;
  /** Header name/value pairs (Host is set from the service). */
  readonly headers: readonly string[];
  /** Aborts the request (timeouts). */
  readonly signal: AbortSignal;
  /** The most bytes of the response body read; a larger body rejects with GH_ERR_ENDPOINT_BODY_TOO_LARGE. */
  readonly maxBodyBytes: number;
}

export interface EndpointResponse {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: Buffer;
}

/**
 * A service a plugin calls by its name, compiled once per snapshot (InitContext.service): the
 * requests go to the service's own pool or balanced upstream, with its protocol, TLS settings,
 * path and read timeout, and report to the upstream's passive health checks.
 */
export interface ServiceEndpoint {
  /** The service's name (or id when it has none). */
  readonly label: string;
  request(options: EndpointRequest): Promise<EndpointResponse>;
}

export interface InitContext {
  readonly snapshot: SnapshotView;
  readonly instance: InstanceInfo;
  readonly log: Logger;
  /**
   * An alternate destination for the requests of this instance: `host` is a host name or IP, or
   * the name of an upstream entity (then balanced over its targets, `port` unused); null keeps
   * each service's host, as `port` null keeps its port. Compiled for every service the
   * instance applies to, so `setUpstreamDestination` does no work per request.
   */
  destination(host: string | null, port: number | null): UpstreamDestination;
  /**
   * The service named `nameOrId` (an enabled HTTP/HTTPS service of the snapshot) as an endpoint
   * the plugin may send its own requests to; null when the snapshot has no such service.
   */
  service(nameOrId: string): ServiceEndpoint | null;
}

type MaybePromise = void | Promise<void>;

/**
 * Decides per response whether a plugin wants the body. Declared as a method so that a plugin's
 * own state type stays assignable where the runtime holds plugins with opaque state.
 */
export type BufferDecision<S> = {
  bivarianceHack(state: S, response: ResponseHead): boolean;
}['bivarianceHack'];

/**
 * The most the runtime buffers of a response for `bufferResponse` (8 MiB): a larger body (by
 * Content-Length, or once that many bytes arrived) streams to the client unchanged, and the
 * response phase sees `ctx.response.body` null.
 */
export const RESPONSE_BUFFER_LIMIT = 8 * 1024 * 1024;

/** The config a plugin's handlers receive: the value its schema validates to (never null). */
export type PluginConfig<F extends schema.RecordField> = NonNullable<schema.Infer<F>>;

/**
 * What the control plane needs of a plugin, and nothing that runs: name, version, priority, the
 * `config` schema and the scope rules. A bundled plugin's spec lives in `<name>/schema.ts`; the
 * `@gatehouse/data-plane/schemas` entry serves the specs without loading any handler.
 */
export interface PluginSpec<F extends schema.RecordField = schema.RecordField> {
  /** Kong's name (lower-case, dashes). */
  readonly name: string;
  /** Semver of the plugin (reported in the DP's Hello and checked for compatibility). */
  readonly version: string;
  /** Kong's PRIORITY: higher runs first within a phase. */
  readonly priority: number;
  /** The `config` record; the handlers' config type is inferred from it. */
  readonly schema: F;
  /** Protocols the plugin may be configured for (Kong's `protocols` typedef); default http, https, grpc, grpcs. */
  readonly protocols?: readonly PluginProtocol[];
  /** Kong's `no_consumer`: refuses consumer- and consumer-group-scoped instances (auth plugins). */
  readonly noConsumer?: boolean;
  /**
   * Kong's auto-generated config fields: fills what a write left out (the control plane calls it
   * on Admin API writes, before validation, and stores the result, so every replica and DP agree).
   * Never called for a DB-less file, which must give the values. Returns the config to validate.
   */
  readonly generate?: (config: Record<string, unknown>) => Record<string, unknown>;
}

/** The runnable part of a plugin: `init` and one handler per phase, typed by the config `C`. */
export interface PluginHandlers<C, S> {
  /**
   * The response phase receives the whole upstream body (buffered) in `ctx.response.body`:
   * always (`true`), or when the function says so for this response (decided once, when the
   * upstream's head arrived). Never for HEAD requests, 204 and 304; a body over the runtime's
   * buffer limit (RESPONSE_BUFFER_LIMIT) streams instead, with `ctx.response.body` null.
   */
  readonly bufferResponse?: boolean | BufferDecision<S>;
  /** Once per snapshot per instance; the result is passed to every handler. Default: the config. */
  init?(config: C, ctx: InitContext): S;
  /** Before the access phase (request rewriting). */
  rewrite?(ctx: PluginContext, state: S): MaybePromise;
  /** Authentication, authorisation, throttling: may `respond`. */
  access?(ctx: PluginContext, state: S): MaybePromise;
  /** After the upstream answered (status and headers; body when `bufferResponse`). */
  response?(ctx: PluginContext, state: S): MaybePromise;
  /** After the response was sent, off the request path. Errors are logged, never surfaced. */
  log?(ctx: PluginContext, state: S): MaybePromise;
}

/**
 * A plugin: its spec and its handlers. `F` is the schema's literal type, `S` the state `init`
 * returns (default: the config itself).
 */
export interface PluginDefinition<F extends schema.RecordField = schema.RecordField, S = PluginConfig<F>>
  extends PluginSpec<F>, PluginHandlers<PluginConfig<F>, S> {}

/**
 * Any plugin, as the registry and the runtime hold it: a config is a validated record and the
 * state is opaque (each definition's own handlers are typed by its schema).
 */
export type AnyPluginDefinition = PluginDefinition<schema.RecordField, unknown>;

/** Kong's `typedefs.protocols_http` with WebSocket (3.x): what the authentication plugins accept. */
export const PROTOCOLS_HTTP_WS: readonly PluginProtocol[] = Object.freeze([
  'grpc',
  'grpcs',
  'http',
  'https',
  'ws',
  'wss',
]);

function checkSpec(spec: PluginSpec): void {
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(spec.name)) throw new TypeError(`plugin name '${spec.name}' is invalid`);
  if (!/^\d+\.\d+\.\d+/.test(spec.version))
    throw new TypeError(`plugin '${spec.name}': version must be semver`);
  if (!Number.isFinite(spec.priority))
    throw new TypeError(`plugin '${spec.name}': priority must be a number`);
  if (spec.schema?.type !== 'record') throw new TypeError(`plugin '${spec.name}': schema must be a record`);
}

/** A plugin's spec (no handlers), checked: name, version, priority and a record schema. */
export function definePluginSpec<const N extends string, const F extends schema.RecordField>(
  spec: PluginSpec<F> & { readonly name: N },
): PluginSpec<F> & { readonly name: N } {
  checkSpec(spec);
  return Object.freeze(spec);
}

/**
 * Defines a plugin; the config type of `init` and the handlers is inferred from `schema`, the
 * state type from what `init` returns. Checks name, version, priority and schema when loaded.
 */
export function definePlugin<const N extends string, const F extends schema.RecordField, S = PluginConfig<F>>(
  def: PluginDefinition<F, S> & { readonly name: N },
): PluginDefinition<F, S> & { readonly name: N } {
  checkSpec(def);
  return Object.freeze(def);
}

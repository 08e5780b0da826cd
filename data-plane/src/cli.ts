/**
 * `gatehouse dp`: a data plane connected to a control plane.
 */
import { availableParallelism } from 'node:os';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import { ROOT_PUBLIC_KEY_FILE } from '@gatehouse/shared/snapshot/root-keys';
import {
  CLUSTER_TLS_SETTINGS,
  clusterTlsFiles,
  clusterTlsSettings,
  type ClusterTlsFiles,
} from '@gatehouse/shared/cluster-tls';
import { createLogger } from '@gatehouse/shared/logger';
import { isGatehouseError } from '@gatehouse/shared/errors';
import {
  NATS_TLS_SETTINGS,
  natsSettings,
  natsUrlSetting,
  jetstreamSnapshotsSetting,
  jetstreamSnapshotsOn,
  type NatsSettings,
} from '@gatehouse/shared/nats/settings';
import {
  parseSettings,
  settingsHelp,
  SettingsError,
  type Listen,
  type SettingSpec,
} from '@gatehouse/shared/settings';
import { placementError } from '@gatehouse/shared/slices/node';
import { stopOnSignals } from '@gatehouse/shared/process';
import { startDataPlane } from './data-plane.js';
import { ClientIpResolver } from './net/client-ip.js';
import { PATH_ESCAPED_SLASHES_ACTIONS, type PathEscapedSlashesAction } from './proxy/path-policy.js';
import { DEFAULT_UPSTREAM_CLIENT, UPSTREAM_CLIENTS, type UpstreamClient } from './proxy/pool-spec.js';
import { parseCacheKey } from './sync/cache-crypto.js';
import { controlPlaneListProblem } from './sync/control-planes.js';
import {
  CLIENT_LIMIT_DEFAULTS,
  DP_MAX_EVENT_LOOP_DELAY_MS,
  DP_MAX_QUEUE_TIME_MS,
  type ClientLimits,
} from './proxy/client-connections.js';
import { HTTP2_DEFAULTS, HTTP2_LIMITS, type Http2Settings } from './proxy/http2-edge.js';
import {
  ACCESS_LOG_FIELDS,
  fieldsProblem,
  redactProblem,
  type AccessLogSettings,
} from './observe/access-log.js';
import {
  CIPHER_SUITE_NAMES,
  tlsPolicy as makeTlsPolicy,
  type CipherSuiteName,
  type TlsPolicy,
} from '@gatehouse/shared/tls-policy';
import { dnsSettings, type DnsSettings } from './dns/settings.js';

/**
 * Client connection limits of the proxy (issue 8 item 11). Each `key` is the ClientLimits field it
 * sets; defaults come from CLIENT_LIMIT_DEFAULTS. Names follow nginx's where it has the setting.
 */
const CLIENT_LIMIT_SETTINGS: (SettingSpec & { key: keyof ClientLimits })[] = [
  {
    key: 'websocketMaxMessageSize',
    flag: 'websocket-max-message-size',
    env: ['GATEHOUSE_WEBSOCKET_MAX_MESSAGE_SIZE'],
    kind: 'int',
    min: 0,
    max: 2_147_483_647,
    default: String(CLIENT_LIMIT_DEFAULTS.websocketMaxMessageSize),
    description:
      'Largest WebSocket message in bytes either side of a proxied WebSocket may send (read from frame headers); a bigger one closes it with 1009. 0 = no limit.',
  },
  {
    key: 'headerTimeoutMs',
    flag: 'client-header-timeout',
    env: ['GATEHOUSE_CLIENT_HEADER_TIMEOUT'],
    kind: 'int',
    min: 100,
    max: 3_600_000,
    default: String(CLIENT_LIMIT_DEFAULTS.headerTimeoutMs),
    description:
      "Milliseconds a client may take to send a request head (nginx's client_header_timeout); then 408 and close.",
  },
  {
    key: 'bodyTimeoutMs',
    flag: 'client-body-timeout',
    env: ['GATEHOUSE_CLIENT_BODY_TIMEOUT'],
    kind: 'int',
    min: 0,
    max: 3_600_000,
    default: String(CLIENT_LIMIT_DEFAULTS.bodyTimeoutMs),
    description:
      "Milliseconds a request body may stay idle while the proxy waits for it (nginx's client_body_timeout); then 408, the upstream request aborted. 0 = off.",
  },
  {
    key: 'bodyMinRate',
    flag: 'client-body-min-rate',
    env: ['GATEHOUSE_CLIENT_BODY_MIN_RATE'],
    kind: 'int',
    min: 0,
    max: 1_073_741_824,
    default: String(CLIENT_LIMIT_DEFAULTS.bodyMinRate),
    description:
      'Slowest average request body rate in bytes/s, checked once a body was waited on for --client-body-timeout; slower gets 408. 0 = off.',
  },
  {
    key: 'requestTimeoutMs',
    flag: 'client-request-timeout',
    env: ['GATEHOUSE_CLIENT_REQUEST_TIMEOUT'],
    kind: 'int',
    min: 0,
    max: 86_400_000,
    default: String(CLIENT_LIMIT_DEFAULTS.requestTimeoutMs),
    description:
      'Milliseconds a client may take to send a whole request, head and body; then 408. 0 = off. Not shorter than --client-header-timeout.',
  },
  {
    key: 'keepAliveTimeoutMs',
    flag: 'keepalive-timeout',
    env: ['GATEHOUSE_KEEPALIVE_TIMEOUT'],
    kind: 'int',
    min: 100,
    max: 3_600_000,
    default: String(CLIENT_LIMIT_DEFAULTS.keepAliveTimeoutMs),
    description: "Milliseconds an idle keep-alive client connection stays open (nginx's keepalive_timeout).",
  },
  {
    key: 'maxConcurrentRequests',
    flag: 'max-concurrent-requests',
    env: ['GATEHOUSE_MAX_CONCURRENT_REQUESTS'],
    kind: 'int',
    min: 0,
    max: 1_000_000,
    default: String(CLIENT_LIMIT_DEFAULTS.maxConcurrentRequests),
    description:
      'Requests in flight per worker process beyond which new ones are shed at once with 503 and Retry-After (load shedding, docs/data-plane.md). 0 = no cap.',
  },
  {
    key: 'maxEventLoopDelayMs',
    flag: 'max-event-loop-delay',
    env: ['GATEHOUSE_MAX_EVENT_LOOP_DELAY'],
    kind: 'int',
    min: 0,
    max: 60_000,
    default: String(DP_MAX_EVENT_LOOP_DELAY_MS),
    description:
      "Milliseconds a worker's event loop may run late: when its samples (50 ms apart) stay later than this for 500 ms while the worker uses at least 0.4 of a core, the worker sheds new requests for 250 ms with 503 and Retry-After (load shedding, docs/data-plane.md). 0 = off.",
  },
  {
    key: 'maxQueueTimeMs',
    flag: 'max-queue-time',
    env: ['GATEHOUSE_MAX_QUEUE_TIME'],
    kind: 'int',
    min: 0,
    max: 60_000,
    default: String(DP_MAX_QUEUE_TIME_MS),
    description:
      'Milliseconds a request may wait before a busy worker reads it: a request read more than this after the first one of the same event-loop turn, by a worker using at least 0.4 of a core, is shed with 503 and Retry-After (load shedding, docs/data-plane.md). 0 = off.',
  },
  {
    key: 'maxConnectionsPerIp',
    flag: 'max-connections-per-ip',
    env: ['GATEHOUSE_MAX_CONNECTIONS_PER_IP'],
    kind: 'int',
    min: 0,
    max: 1_000_000,
    default: String(CLIENT_LIMIT_DEFAULTS.maxConnectionsPerIp),
    description:
      'Connections one client address may hold open per worker process; over it a new connection is closed before it is read. 0 = no cap.',
  },
];

/**
 * HTTP/2 at the edge (issue 16). Kong turns it on with the `http2` flag of a `listen` line; here
 * it is on by default on both listeners, with nginx's stream and header limits.
 */
const HTTP2_SETTINGS: SettingSpec[] = [
  {
    key: 'http2Tls',
    flag: 'http2-tls',
    env: ['GATEHOUSE_HTTP2_TLS'],
    kind: 'enum',
    values: ['on', 'off'],
    default: 'on',
    description:
      "HTTP/2 (h2 by ALPN) on --listen-ssl, beside HTTP/1.1 (Kong's `http2` flag of proxy_listen); off: http/1.1 only.",
  },
  {
    key: 'http2Cleartext',
    flag: 'http2-cleartext',
    env: ['GATEHOUSE_HTTP2_CLEARTEXT'],
    kind: 'enum',
    values: ['on', 'off'],
    default: 'on',
    description:
      'h2c with prior knowledge on --listen, beside HTTP/1.1 (the HTTP/2 preface is recognised per connection); off: HTTP/1.1 only. Upgrade: h2c is never switched to.',
  },
  {
    key: 'http2MaxConcurrentStreams',
    flag: 'http2-max-concurrent-streams',
    env: ['GATEHOUSE_HTTP2_MAX_CONCURRENT_STREAMS'],
    kind: 'int',
    min: HTTP2_LIMITS.maxConcurrentStreams.min,
    max: HTTP2_LIMITS.maxConcurrentStreams.max,
    default: String(HTTP2_DEFAULTS.maxConcurrentStreams),
    description:
      "Streams (requests) one HTTP/2 connection may have open at once (nginx's http2_max_concurrent_streams).",
  },
  {
    key: 'http2MaxHeaderListSize',
    flag: 'http2-max-header-list-size',
    env: ['GATEHOUSE_HTTP2_MAX_HEADER_LIST_SIZE'],
    kind: 'int',
    min: HTTP2_LIMITS.maxHeaderListSize.min,
    max: HTTP2_LIMITS.maxHeaderListSize.max,
    default: String(HTTP2_DEFAULTS.maxHeaderListSize),
    description:
      "Largest header list of an HTTP/2 request in bytes (name + value + 32 per field); over it 431 (nginx's large_client_header_buffers, 4 x 8k).",
  },
];

const SETTINGS: SettingSpec[] = [
  {
    key: 'controlPlane',
    flag: 'control-plane',
    env: ['GATEHOUSE_CONTROL_PLANE'],
    kind: 'string',
    default: '127.0.0.1:8005',
    description:
      'Control plane cluster address (host:port), or several comma-separated (replicas of one fleet), or a DNS name resolving to several: the DP fails over between them, in order, round-robin.',
  },
  ...CLUSTER_TLS_SETTINGS,
  {
    key: 'clusterServerName',
    flag: 'cluster-server-name',
    env: ['GATEHOUSE_CLUSTER_SERVER_NAME'],
    kind: 'string',
    description:
      "pki mode: the name the CP certificate must hold, sent as SNI (Kong's cluster_server_name). Default: the host of --control-plane.",
  },
  {
    key: 'trustedKeys',
    flag: 'trusted-keys',
    env: ['GATEHOUSE_TRUSTED_KEYS'],
    kind: 'list',
    description:
      'Comma-separated JWKS files with the public keys snapshots must be signed with (plain mode; with --cluster-root-key, also accepted for snapshots that carry no certificate).',
  },
  {
    key: 'clusterRootKey',
    flag: 'cluster-root-key',
    env: ['GATEHOUSE_CLUSTER_ROOT_KEY'],
    kind: 'string',
    description:
      "Root-key mode: the root public key (written by `gatehouse keys root`) that certifies the control plane's signing keys; snapshots must be signed by a certified, unexpired, unrevoked key. Default: <data-dir>/snapshot-root.pub.json if present. One of this and --trusted-keys is required.",
  },
  {
    key: 'listen',
    flag: 'listen',
    env: ['GATEHOUSE_PROXY_LISTEN'],
    kind: 'listen',
    default: '0.0.0.0:8000',
    description: 'Proxy address (host:port).',
  },
  {
    key: 'statusListen',
    flag: 'status-listen',
    env: ['GATEHOUSE_STATUS_LISTEN'],
    kind: 'listen',
    default: '127.0.0.1:8100',
    description: 'Status/metrics address (host:port): /status, /status/ready, /metrics.',
  },
  {
    key: 'dataDir',
    flag: 'data-dir',
    env: ['GATEHOUSE_DATA_DIR'],
    kind: 'string',
    default: '.gatehouse/dp',
    description: 'Folder for the node id, the last good snapshot and the highest version accepted.',
  },
  {
    key: 'cacheKey',
    flag: 'cache-key',
    env: ['GATEHOUSE_CACHE_KEY'],
    kind: 'string',
    description:
      'Encrypts the snapshot cache on disk (AES-256-GCM): 32 bytes as 64 hex digits or base64 (`openssl rand -base64 32`). Prefer the variable: a flag shows in the process list.',
  },
  {
    key: 'allowVersionRollback',
    flag: 'allow-version-rollback',
    env: ['GATEHOUSE_ALLOW_VERSION_ROLLBACK'],
    kind: 'bool',
    default: 'false',
    description:
      'Serve a signed snapshot older than the highest version this data plane has accepted (a cache put back, a CP restored from a backup). Weakens rollback protection.',
  },
  {
    key: 'workers',
    flag: 'workers',
    env: ['GATEHOUSE_WORKERS'],
    kind: 'int',
    min: 1,
    max: 1024,
    default: String(availableParallelism()),
    description: 'Worker processes serving traffic.',
  },
  {
    key: 'upstreamClient',
    flag: 'upstream-client',
    env: ['GATEHOUSE_UPSTREAM_CLIENT'],
    kind: 'enum',
    values: [...UPSTREAM_CLIENTS],
    default: DEFAULT_UPSTREAM_CLIENT,
    description:
      'HTTP/1.1 client of plain-HTTP upstreams: undici, or llhttp (keep-alive sockets and node\'s llhttp parser, undici for the requests it does not send; docs/data-plane.md "Upstream client").',
  },
  {
    key: 'proxyCacheMemorySize',
    flag: 'proxy-cache-memory-size',
    env: ['GATEHOUSE_PROXY_CACHE_MEMORY_SIZE'],
    kind: 'int',
    min: 65_536,
    max: 68_719_476_736,
    default: String(128 * 1024 * 1024),
    description:
      "Bytes of each worker's proxy-cache memory store (strategy memory); the least recently used entries are evicted beyond it.",
  },
  {
    key: 'nodeId',
    flag: 'node-id',
    env: ['GATEHOUSE_NODE_ID'],
    kind: 'string',
    description: 'Node id reported to the CP. Default: generated and kept in the data folder.',
  },
  {
    key: 'region',
    flag: 'region',
    env: ['GATEHOUSE_REGION'],
    kind: 'string',
    description:
      'Region reported to the CP; scope tags gatehouse:region=<region> pick what the DP gets (docs/regions-and-slices.md).',
  },
  natsUrlSetting(
    "the `cluster` rate-limiting policy shares counts with the region's other DPs on gatehouse.ratelimit.<region>, and traffic summaries go on gatehouse.telemetry.<region>.<node>. One connection per DP. Unset: that policy counts per DP, summaries go on the CP stream.",
  ),
  ...NATS_TLS_SETTINGS,
  jetstreamSnapshotsSetting(
    "With --nats-url: when the disk cache gives no config, read the newest signed snapshot from the CP's JetStream bucket gatehouse_snapshots (verified with --trusted-keys like one from the CP), so the DP can start while no CP answers. off: never.",
  ),
  {
    key: 'trafficSummaryInterval',
    flag: 'traffic-summary-interval',
    env: ['GATEHOUSE_TRAFFIC_SUMMARY_INTERVAL'],
    kind: 'int',
    min: 0,
    max: 600_000,
    default: '10000',
    description:
      'Milliseconds between traffic summaries sent to the CP (on NATS gatehouse.telemetry.<region>.<node> with --nats-url, else on the CP stream). 0: none.',
  },
  {
    key: 'labels',
    flag: 'label',
    env: ['GATEHOUSE_LABELS'],
    kind: 'labels',
    multiple: true,
    description:
      'A label reported to the CP, key=value (repeatable; the variable takes key=value,key=value). With --region it picks the slice of the config the DP gets (docs/regions-and-slices.md).',
  },
  {
    key: 'listenSsl',
    flag: 'listen-ssl',
    env: ['GATEHOUSE_PROXY_LISTEN_SSL'],
    kind: 'listen',
    description:
      'HTTPS proxy address (host:port, e.g. 0.0.0.0:8443); certificates are picked by SNI. Off when unset.',
  },
  {
    key: 'sslCert',
    flag: 'ssl-cert',
    env: ['GATEHOUSE_SSL_CERT'],
    kind: 'string',
    description:
      'PEM certificate served on --listen-ssl when no SNI matches (default: self-signed, made at start).',
  },
  {
    key: 'sslCertKey',
    flag: 'ssl-cert-key',
    env: ['GATEHOUSE_SSL_CERT_KEY'],
    kind: 'string',
    description: 'PEM private key of --ssl-cert.',
  },
  {
    key: 'sslCipherSuite',
    flag: 'ssl-cipher-suite',
    env: ['GATEHOUSE_SSL_CIPHER_SUITE'],
    kind: 'enum',
    values: [...CIPHER_SUITE_NAMES],
    default: 'intermediate',
    description:
      "TLS versions and ciphers of --listen-ssl, as Kong's ssl_cipher_suite: intermediate (TLS 1.2 and 1.3, AEAD ciphers with forward secrecy), modern (TLS 1.3 only), old or fips (weaken security, docs/security.md), custom (--ssl-ciphers, --ssl-protocols).",
  },
  {
    key: 'sslCiphers',
    flag: 'ssl-ciphers',
    env: ['GATEHOUSE_SSL_CIPHERS'],
    kind: 'string',
    description:
      'OpenSSL cipher list of --listen-ssl for TLS 1.2 and below; only with --ssl-cipher-suite custom.',
  },
  {
    key: 'sslProtocols',
    flag: 'ssl-protocols',
    env: ['GATEHOUSE_SSL_PROTOCOLS'],
    kind: 'string',
    description:
      'TLS versions of --listen-ssl, consecutive, separated by spaces (default "TLSv1.2 TLSv1.3"); only with --ssl-cipher-suite custom.',
  },
  {
    key: 'trustedIps',
    flag: 'trusted-ips',
    env: ['GATEHOUSE_TRUSTED_IPS'],
    kind: 'list',
    description:
      "Comma-separated IPs/CIDRs of proxies in front (Kong's trusted_ips); only their X-Forwarded-For names the client.",
  },
  {
    key: 'dnsResolver',
    flag: 'dns-resolver',
    env: ['GATEHOUSE_DNS_RESOLVER'],
    kind: 'string',
    description:
      "Kong's dns_resolver: comma-separated name servers (ip[:port], [v6]:port) for host names of targets and services; default: /etc/resolv.conf's.",
  },
  {
    key: 'dnsHostsfile',
    flag: 'dns-hostsfile',
    env: ['GATEHOUSE_DNS_HOSTSFILE'],
    kind: 'string',
    description: "Kong's dns_hostsfile: names answered from this file first (default /etc/hosts).",
  },
  {
    key: 'dnsOrder',
    flag: 'dns-order',
    env: ['GATEHOUSE_DNS_ORDER'],
    kind: 'string',
    description:
      "Kong's dns_order: record types tried in order, of LAST, SRV, A, AAAA, CNAME (default LAST,SRV,A,CNAME).",
  },
  {
    key: 'dnsValidTtl',
    flag: 'dns-valid-ttl',
    env: ['GATEHOUSE_DNS_VALID_TTL'],
    kind: 'string',
    description:
      "Kong's dns_valid_ttl: seconds every answer is kept, replacing the records' TTL (default: the records').",
  },
  {
    key: 'dnsStaleTtl',
    flag: 'dns-stale-ttl',
    env: ['GATEHOUSE_DNS_STALE_TTL'],
    kind: 'string',
    description:
      "Kong's dns_stale_ttl: seconds an expired answer is still served while it cannot be refreshed (default 3600).",
  },
  {
    key: 'dnsNotFoundTtl',
    flag: 'dns-not-found-ttl',
    env: ['GATEHOUSE_DNS_NOT_FOUND_TTL'],
    kind: 'string',
    description:
      "Kong's dns_not_found_ttl: seconds a name that does not exist (or has no records) is kept so (default 30).",
  },
  {
    key: 'dnsErrorTtl',
    flag: 'dns-error-ttl',
    env: ['GATEHOUSE_DNS_ERROR_TTL'],
    kind: 'string',
    description: "Kong's dns_error_ttl: seconds before a failed query is tried again (default 1).",
  },
  {
    key: 'pathEscapedSlashes',
    flag: 'path-escaped-slashes',
    env: ['GATEHOUSE_PATH_ESCAPED_SLASHES'],
    kind: 'enum',
    values: [...PATH_ESCAPED_SLASHES_ACTIONS],
    default: 'reject',
    description:
      "Paths with %2F, %5C or \\ (Envoy's path_with_escaped_slashes_action): reject (400), unescape (to / then normalise) or keep (forward as data; weakens security).",
  },
  {
    key: 'underscoresInHeaders',
    flag: 'underscores-in-headers',
    env: ['GATEHOUSE_UNDERSCORES_IN_HEADERS'],
    kind: 'bool',
    default: 'false',
    description:
      "Keep request header names with underscores (nginx's underscores_in_headers); default: dropped (weakens security when on).",
  },
  {
    key: 'config',
    flag: 'config',
    env: ['GATEHOUSE_DECLARATIVE_CONFIG'],
    kind: 'string',
    description:
      'DB-less mode: serve this declarative file (Kong 3.0 format, YAML or JSON) with no control plane; SIGHUP reloads it.',
  },
  {
    key: 'pluginsDirs',
    flag: 'plugins-dir',
    env: ['GATEHOUSE_PLUGINS_DIRS'],
    kind: 'list',
    description: 'Comma-separated folders with custom plugins.',
  },
  {
    key: 'logLevel',
    flag: 'log-level',
    env: ['GATEHOUSE_LOG_LEVEL'],
    kind: 'enum',
    values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
    default: 'info',
    description: 'Log level.',
  },
  ...CLIENT_LIMIT_SETTINGS,
  ...HTTP2_SETTINGS,
  {
    key: 'accessLog',
    flag: 'access-log',
    env: ['GATEHOUSE_ACCESS_LOG'],
    kind: 'string',
    description:
      'Access log, one JSON line per request: a file path, stdout, or off (the default: it costs 10-25 % of the CPU per request of a worker, see docs/observability.md).',
  },
  {
    key: 'accessLogSample',
    flag: 'access-log-sample',
    env: ['GATEHOUSE_ACCESS_LOG_SAMPLE'],
    kind: 'string',
    default: '1',
    description: 'Fraction of requests written to the access log, 0 to 1.',
  },
  {
    key: 'accessLogRedact',
    flag: 'access-log-redact',
    env: ['GATEHOUSE_ACCESS_LOG_REDACT'],
    kind: 'list',
    description: `Comma-separated access log fields written as "[REDACTED]" (e.g. client_ip,query). Fields: ${ACCESS_LOG_FIELDS.join(', ')}.`,
  },
  {
    key: 'accessLogFields',
    flag: 'access-log-fields',
    env: ['GATEHOUSE_ACCESS_LOG_FIELDS'],
    kind: 'list',
    description: `Comma-separated fields the access log writes (after level and time), e.g. method,path,status,latencies.request; default every field: ${ACCESS_LOG_FIELDS.join(', ')}.`,
  },
  {
    key: 'syslogServer',
    flag: 'syslog-server',
    env: ['GATEHOUSE_SYSLOG_SERVER'],
    kind: 'listen',
    default: '127.0.0.1:514',
    description: 'Where the syslog plugin sends its messages (RFC 5424 over UDP, host:port).',
  },
];

function fail(message: string, code = 2): never {
  process.stderr.write(`gatehouse: ${message}\n`);
  process.exit(code);
}

let parsed;
try {
  parsed = parseSettings(SETTINGS, process.argv.slice(2));
} catch (e) {
  if (e instanceof SettingsError) fail(`${e.message}\nRun 'gatehouse dp --help' for the options.`);
  throw e;
}
if (parsed.help) {
  process.stdout.write(
    settingsHelp(
      'gatehouse dp [options]',
      'Runs a data plane: proxy workers fed by signed snapshots from a control plane,\nor, with --config, by a declarative file (DB-less).',
      SETTINGS,
    ),
  );
  process.exit(0);
}
if (parsed.positionals.length) fail(`unexpected argument "${parsed.positionals[0]}"`);
const v = parsed.values;
const declarativeFile = v.config as string | undefined;
const trusted = (v.trustedKeys as string[] | undefined) ?? [];
const cp = v.controlPlane as string;
if (declarativeFile === undefined) {
  if (
    trusted.length === 0 &&
    v.clusterRootKey === undefined &&
    !existsSync(join(resolve(v.dataDir as string), ROOT_PUBLIC_KEY_FILE))
  ) {
    fail(
      'invalid setting --cluster-root-key (GATEHOUSE_CLUSTER_ROOT_KEY): required; give the root public key written by `gatehouse keys root` (or --trusted-keys with the JWKS written by `gatehouse keys generate`, or run DB-less with --config FILE)',
    );
  }
  const problem = controlPlaneListProblem(cp);
  if (typeof problem === 'string')
    fail(`invalid setting --control-plane (GATEHOUSE_CONTROL_PLANE): ${problem}`);
}
let clusterTls: (ClusterTlsFiles & { serverName?: string }) | { mode: 'off' } | undefined;
if (declarativeFile === undefined) {
  try {
    const settings = clusterTlsSettings(v);
    const files = clusterTlsFiles(
      {
        ...settings,
        cert: settings.cert && resolve(settings.cert),
        key: settings.key && resolve(settings.key),
        ca: settings.ca && resolve(settings.ca),
      },
      'data plane',
    );
    clusterTls = files
      ? { ...files, serverName: v.clusterServerName as string | undefined }
      : { mode: 'off' };
  } catch (e) {
    if (isGatehouseError(e)) fail(e.message);
    throw e;
  }
}

if ((v.sslCert === undefined) !== (v.sslCertKey === undefined)) {
  fail('invalid setting --ssl-cert / --ssl-cert-key: give both or neither');
}
let tlsCertificate: { cert: string; key: string } | undefined;
if (v.sslCert !== undefined) {
  try {
    tlsCertificate = {
      cert: readFileSync(resolve(v.sslCert as string), 'utf8'),
      key: readFileSync(resolve(v.sslCertKey as string), 'utf8'),
    };
    createSecureContext(tlsCertificate);
  } catch (e) {
    fail(`invalid setting --ssl-cert / --ssl-cert-key: ${(e as Error).message}`);
  }
}

let tlsPolicy: TlsPolicy;
try {
  tlsPolicy = makeTlsPolicy(
    v.sslCipherSuite as CipherSuiteName,
    v.sslCiphers as string | undefined,
    v.sslProtocols as string | undefined,
  );
} catch (e) {
  fail(`invalid setting ${(e as Error).message}`);
}

const trustedIps = (v.trustedIps as string[] | undefined) ?? [];
try {
  new ClientIpResolver(trustedIps);
} catch (e) {
  fail(`invalid setting --trusted-ips (GATEHOUSE_TRUSTED_IPS): ${(e as Error).message}`);
}

let dns: DnsSettings;
try {
  dns = dnsSettings({
    resolver: v.dnsResolver as string | undefined,
    hostsFile: v.dnsHostsfile as string | undefined,
    order: v.dnsOrder as string | undefined,
    validTtl: v.dnsValidTtl as string | undefined,
    staleTtl: v.dnsStaleTtl as string | undefined,
    notFoundTtl: v.dnsNotFoundTtl as string | undefined,
    errorTtl: v.dnsErrorTtl as string | undefined,
  });
} catch (e) {
  fail(
    `invalid setting --${(e as Error).message.replace(/^dns_(\w+)/, (_m, w: string) => `dns-${w.replace(/_/g, '-')}`)}`,
  );
}

let cacheKey: Buffer | undefined;
if (v.cacheKey !== undefined) {
  if (declarativeFile !== undefined)
    fail('invalid setting --cache-key (GATEHOUSE_CACHE_KEY): a DB-less data plane keeps no cache');
  try {
    cacheKey = parseCacheKey(v.cacheKey as string);
  } catch (e) {
    fail(`invalid setting --cache-key (GATEHOUSE_CACHE_KEY): ${(e as Error).message}`);
  }
}

const clientLimits: Partial<ClientLimits> = {};
for (const s of CLIENT_LIMIT_SETTINGS) clientLimits[s.key] = v[s.key] as number;
const { requestTimeoutMs, headerTimeoutMs } = clientLimits;
if (requestTimeoutMs! > 0 && requestTimeoutMs! < headerTimeoutMs!) {
  fail(
    `invalid setting --client-request-timeout (GATEHOUSE_CLIENT_REQUEST_TIMEOUT): must be 0 or >= --client-header-timeout (${headerTimeoutMs}), got ${requestTimeoutMs}`,
  );
}

const http2: Http2Settings = {
  tls: v.http2Tls === 'on',
  cleartext: v.http2Cleartext === 'on',
  maxConcurrentStreams: v.http2MaxConcurrentStreams as number,
  maxHeaderListSize: v.http2MaxHeaderListSize as number,
};

const placementProblem = placementError({
  region: (v.region as string | undefined) ?? '',
  labels: (v.labels as Record<string, string> | undefined) ?? {},
});
if (placementProblem)
  fail(`invalid setting --region/--label (GATEHOUSE_REGION/GATEHOUSE_LABELS): ${placementProblem}`);

let nats: NatsSettings | undefined;
try {
  nats = natsSettings(v, resolve);
} catch (e) {
  if (isGatehouseError(e)) fail(e.message);
  throw e;
}

const sampleText = (v.accessLogSample as string).trim();
const sample = /^(0(\.\d+)?|1(\.0+)?|\.\d+)$/.test(sampleText) ? Number(sampleText) : NaN;
if (!(sample >= 0 && sample <= 1))
  fail(
    `invalid setting --access-log-sample (GATEHOUSE_ACCESS_LOG_SAMPLE): must be a number from 0 to 1, got "${sampleText}"`,
  );
const redact = (v.accessLogRedact as string[] | undefined) ?? [];
const redactError = redactProblem(redact);
if (redactError !== null)
  fail(`invalid setting --access-log-redact (GATEHOUSE_ACCESS_LOG_REDACT): ${redactError}`);
const fields = v.accessLogFields as string[] | undefined;
const fieldsError = fields === undefined ? null : fieldsProblem(fields);
if (fieldsError !== null)
  fail(`invalid setting --access-log-fields (GATEHOUSE_ACCESS_LOG_FIELDS): ${fieldsError}`);
const accessLogTo = (v.accessLog as string | undefined) ?? 'off';
const accessLog: AccessLogSettings | null =
  accessLogTo === 'off'
    ? null
    : {
        destination: accessLogTo === 'stdout' ? 'stdout' : resolve(accessLogTo),
        sample,
        redact,
        ...(fields === undefined ? {} : { fields }),
      };

const logger = createLogger('gatehouse-dp', { level: v.logLevel as string });
try {
  const dp = await startDataPlane({
    ...(declarativeFile === undefined
      ? {
          controlPlane: cp,
          trustedKeyFiles: trusted.map((f) => resolve(f)),
          ...(v.clusterRootKey === undefined
            ? {}
            : { clusterRootKeyFile: resolve(v.clusterRootKey as string) }),
          clusterTls,
        }
      : { declarativeFile: resolve(declarativeFile) }),
    pluginDirs: ((v.pluginsDirs as string[] | undefined) ?? []).map((d) => resolve(d)),
    dataDir: resolve(v.dataDir as string),
    cacheKey,
    allowVersionRollback: v.allowVersionRollback as boolean,
    workers: v.workers as number,
    proxyCacheMemorySize: v.proxyCacheMemorySize as number,
    upstreamClient: v.upstreamClient as UpstreamClient,
    logs: { accessLog, syslogServer: v.syslogServer as Listen },
    proxyListen: v.listen as Listen,
    proxyTlsListen: v.listenSsl as Listen | undefined,
    trustedIps,
    dns,
    requestPolicy: {
      pathEscapedSlashes: v.pathEscapedSlashes as PathEscapedSlashesAction,
      underscoresInHeaders: v.underscoresInHeaders as boolean,
    },
    clientLimits,
    http2,
    tlsCertificate,
    tlsPolicy,
    statusListen: v.statusListen as Listen,
    nodeId: v.nodeId as string | undefined,
    region: v.region as string | undefined,
    natsUrl: nats?.url,
    natsTls: nats?.tls,
    jetstreamBoot: jetstreamSnapshotsOn(v),
    trafficSummaryIntervalMs: v.trafficSummaryInterval as number,
    labels: v.labels as Record<string, string> | undefined,
    logger,
  });
  stopOnSignals('data plane', () => dp.stop(), logger);
  if (declarativeFile !== undefined) {
    process.on('SIGHUP', () => {
      logger.info('SIGHUP: reloading the declarative file');
      void dp.reload();
    });
  }
} catch (e) {
  if (isGatehouseError(e)) fail(`${e.message} (${e.code})`, 1);
  logger.fatal({ err: e }, 'data plane failed to start');
  process.exit(1);
}

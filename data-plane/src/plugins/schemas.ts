/**
 * `@gatehouse/data-plane/schemas`: the bundled plugins' specs (name, version, priority, config
 * schema, scope rules) and the catalog that validates and describes plugin configs — what the
 * control plane needs, with no handler loaded. Only `<name>/schema.ts` files are imported here;
 * a test spawns node on the built entry and checks that no handler module is loaded.
 */
import { aclSpec } from './acl/schema.js';
import { basicAuthSpec } from './basic-auth/schema.js';
import { ldapAuthSpec } from './ldap-auth/schema.js';
import { botDetectionSpec } from './bot-detection/schema.js';
import { wafSpec } from './waf/schema.js';
import { canarySpec } from './canary/schema.js';
import { corsSpec } from './cors/schema.js';
import { dataMaskingSpec } from './data-masking/schema.js';
import { hmacAuthSpec } from './hmac-auth/schema.js';
import { ipRestrictionSpec } from './ip-restriction/schema.js';
import { jwtSpec } from './jwt/schema.js';
import { keyAuthSpec } from './key-auth/schema.js';
import { sessionSpec } from './session/schema.js';
import { mtlsAuthSpec } from './mtls-auth/schema.js';
import { oauth2Spec } from './oauth2/schema.js';
import { introspectionSpec } from './oauth2-introspection/schema.js';
import { openidConnectSpec } from './openid-connect/schema.js';
import { rateLimitingSpec } from './rate-limiting/schema.js';
import { proxyCacheSpec } from './proxy-cache/schema.js';
import { prometheusSpec } from './prometheus/schema.js';
import { requestSizeLimitingSpec } from './request-size-limiting/schema.js';
import { responseRateLimitingSpec } from './response-ratelimiting/schema.js';
import { requestTerminationSpec } from './request-termination/schema.js';
import { grpcWebSpec } from './grpc-web/schema.js';
import { responseAggregationSpec } from './response-aggregation/schema.js';
import { grpcGatewaySpec } from './grpc-gateway/schema.js';
import { correlationIdSpec } from './correlation-id/schema.js';
import { redirectSpec } from './redirect/schema.js';
import { requestTransformerSpec } from './request-transformer/schema.js';
import { responseTransformerSpec } from './response-transformer/schema.js';
import { requestValidatorSpec } from './request-validator/schema.js';
import { httpLogSpec } from './http-log/schema.js';
import { fileLogSpec } from './file-log/schema.js';
import { tcpLogSpec } from './tcp-log/schema.js';
import { udpLogSpec } from './udp-log/schema.js';
import { syslogSpec } from './syslog/schema.js';
import { opentelemetrySpec } from './opentelemetry/schema.js';
import { zipkinSpec } from './zipkin/schema.js';
import type { PluginSpec } from './api.js';
import { PluginCatalog } from './catalog.js';
import { loadCustomPlugins } from './custom-loader.js';

/**
 * The bundled plugins: the one list of their names. `registry.ts` maps each name to its
 * definition, typed so that a name missing there (or one not listed here) fails the typecheck.
 */
export const BUNDLED_SPECS = [
  sessionSpec,
  keyAuthSpec,
  mtlsAuthSpec,
  basicAuthSpec,
  ldapAuthSpec,
  hmacAuthSpec,
  jwtSpec,
  openidConnectSpec,
  oauth2Spec,
  introspectionSpec,
  aclSpec,
  ipRestrictionSpec,
  corsSpec,
  botDetectionSpec,
  wafSpec,
  requestSizeLimitingSpec,
  requestTerminationSpec,
  grpcWebSpec,
  responseAggregationSpec,
  grpcGatewaySpec,
  canarySpec,
  correlationIdSpec,
  requestTransformerSpec,
  responseTransformerSpec,
  redirectSpec,
  requestValidatorSpec,
  dataMaskingSpec,
  rateLimitingSpec,
  responseRateLimitingSpec,
  proxyCacheSpec,
  prometheusSpec,
  httpLogSpec,
  fileLogSpec,
  tcpLogSpec,
  udpLogSpec,
  syslogSpec,
  opentelemetrySpec,
  zipkinSpec,
] as const;

export type BundledPluginName = (typeof BUNDLED_SPECS)[number]['name'];

/**
 * The bundled specs and the custom plugins of `customDirs` (a custom plugin is one module, so
 * loading its spec loads its handlers too; the bundled handlers are never loaded).
 */
export async function loadPluginSchemas(
  options: { customDirs?: readonly string[] } = {},
): Promise<PluginCatalog> {
  return new PluginCatalog<PluginSpec>(BUNDLED_SPECS, await loadCustomPlugins(options.customDirs ?? []));
}

export { PluginCatalog, type PluginScope, type PluginSummary } from './catalog.js';
export type { PluginConfig, PluginSpec } from './api.js';

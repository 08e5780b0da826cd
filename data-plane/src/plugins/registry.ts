/**
 * The plugin registry of a data plane: the catalog (validation, description, Hello list) plus
 * each plugin's handlers. The bundled plugins are a static import map — a plugin folder that is
 * missing, or that `schemas.ts` does not list, is a build error, never a silently smaller list.
 * Custom plugins come from `--plugins-dir` (custom-loader.ts).
 */
import { PHASES, type AnyPluginDefinition, type PhaseName } from './api.js';
import { PluginCatalog, type PluginSummary } from './catalog.js';
import { loadCustomPlugins } from './custom-loader.js';
import { BUNDLED_SPECS, type BundledPluginName } from './schemas.js';
import acl from './acl/plugin.js';
import basicAuth from './basic-auth/plugin.js';
import ldapAuth from './ldap-auth/plugin.js';
import botDetection from './bot-detection/plugin.js';
import waf from './waf/plugin.js';
import canary from './canary/plugin.js';
import cors from './cors/plugin.js';
import dataMasking from './data-masking/plugin.js';
import hmacAuth from './hmac-auth/plugin.js';
import ipRestriction from './ip-restriction/plugin.js';
import jwt from './jwt/plugin.js';
import keyAuth from './key-auth/plugin.js';
import session from './session/plugin.js';
import mtlsAuth from './mtls-auth/plugin.js';
import oauth2 from './oauth2/plugin.js';
import oauth2Introspection from './oauth2-introspection/plugin.js';
import openidConnect from './openid-connect/plugin.js';
import rateLimiting from './rate-limiting/plugin.js';
import proxyCache from './proxy-cache/plugin.js';
import prometheus from './prometheus/plugin.js';
import requestSizeLimiting from './request-size-limiting/plugin.js';
import requestTermination from './request-termination/plugin.js';
import grpcWeb from './grpc-web/plugin.js';
import responseAggregation from './response-aggregation/plugin.js';
import grpcGateway from './grpc-gateway/plugin.js';
import correlationId from './correlation-id/plugin.js';
import redirect from './redirect/plugin.js';
import requestTransformer from './request-transformer/plugin.js';
import responseTransformer from './response-transformer/plugin.js';
import requestValidator from './request-validator/plugin.js';
import responseRateLimiting from './response-ratelimiting/plugin.js';
import httpLog from './http-log/plugin.js';
import fileLog from './file-log/plugin.js';
import tcpLog from './tcp-log/plugin.js';
import udpLog from './udp-log/plugin.js';
import syslog from './syslog/plugin.js';
import opentelemetry from './opentelemetry/plugin.js';
import zipkin from './zipkin/plugin.js';

/** Every bundled plugin by name: exactly the names of `BUNDLED_SPECS`, each definition's own. */
export const BUNDLED_PLUGINS: {
  readonly [N in BundledPluginName]: AnyPluginDefinition & { readonly name: N };
} = {
  session,
  'key-auth': keyAuth,
  'mtls-auth': mtlsAuth,
  'basic-auth': basicAuth,
  'ldap-auth': ldapAuth,
  'hmac-auth': hmacAuth,
  jwt,
  'openid-connect': openidConnect,
  oauth2,
  'oauth2-introspection': oauth2Introspection,
  acl,
  'ip-restriction': ipRestriction,
  cors,
  'bot-detection': botDetection,
  waf,
  'request-size-limiting': requestSizeLimiting,
  'request-termination': requestTermination,
  'grpc-web': grpcWeb,
  'response-aggregation': responseAggregation,
  'grpc-gateway': grpcGateway,
  canary,
  'correlation-id': correlationId,
  'request-transformer': requestTransformer,
  'response-transformer': responseTransformer,
  redirect,
  'request-validator': requestValidator,
  'data-masking': dataMasking,
  'rate-limiting': rateLimiting,
  'response-ratelimiting': responseRateLimiting,
  'proxy-cache': proxyCache,
  prometheus,
  'http-log': httpLog,
  'file-log': fileLog,
  'tcp-log': tcpLog,
  'udp-log': udpLog,
  syslog,
  opentelemetry,
  zipkin,
};

export interface PluginDescription extends PluginSummary {
  /** The phases the plugin has a handler for. */
  phases: PhaseName[];
}

export class PluginRegistry extends PluginCatalog<AnyPluginDefinition> {
  get(name: string): AnyPluginDefinition | undefined {
    return this.byName.get(name);
  }

  /** Sorted by name, with the phases each plugin handles. */
  override list(): PluginDescription[] {
    return super.list().map((p) => {
      const def = this.byName.get(p.name)!;
      return { ...p, phases: PHASES.filter((phase) => typeof def[phase] === 'function') };
    });
  }
}

/** The bundled plugins (in `BUNDLED_SPECS` order) and the custom plugins of `customDirs`. */
export async function loadPluginRegistry(
  options: { customDirs?: readonly string[] } = {},
): Promise<PluginRegistry> {
  const bundled = BUNDLED_SPECS.map((spec) => BUNDLED_PLUGINS[spec.name]);
  return new PluginRegistry(bundled, await loadCustomPlugins(options.customDirs ?? []));
}

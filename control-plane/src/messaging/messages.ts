/**
 * What control-plane replicas say to each other on NATS: the subjects and their JSON payloads.
 * Decoding is strict: anything that is not exactly one of these shapes is refused (null), so a
 * garbage or hostile message on a subject is dropped (and counted) by the adapter, never acted on.
 *
 *   gatehouse.config.changed     {"cp_id": "<replica>", "version": "<decimal>"}
 *   gatehouse.proxy-cache.purge  {"cp_id": "<replica>", "plugin_id": <uuid|null>, "cache_key": <64 hex|null>}
 *   gatehouse.targets.health     {"cp_id": "<replica>", "upstream_id": <uuid>, "target": "<host:port>", "healthy": <bool>}
 *   gatehouse.oauth2.revoked     {"cp_id": "<replica>", "tokens": [{"jti": "<jti>", "credential_id": <uuid>, "expires_at": <unix s>}, …]}
 *                                (1 to OAUTH2_REVOKED_PER_MESSAGE tokens)
 */
import { isStorableToken, type UsedToken } from '../store/oauth2-used-tokens.js';

export const SUBJECTS = {
  configChanged: 'gatehouse.config.changed',
  proxyCachePurge: 'gatehouse.proxy-cache.purge',
  targetHealth: 'gatehouse.targets.health',
  oauth2Revoked: 'gatehouse.oauth2.revoked',
} as const;

/** Tokens per gatehouse.oauth2.revoked message (longest jti: well within MAX_MESSAGE_BYTES). */
export const OAUTH2_REVOKED_PER_MESSAGE = 8;

/** Largest payload decoded; a bigger one is dropped unread. */
export const MAX_MESSAGE_BYTES = 4096;

export interface ConfigChanged {
  cpId: string;
  version: bigint;
}

export interface PurgeOrder {
  /** null: every proxy-cache plugin. */
  pluginId: string | null;
  /** null: every key. */
  key: string | null;
}

export interface ProxyCachePurge extends PurgeOrder {
  cpId: string;
}

/** The Admin API's healthy / unhealthy for one target: upstream id and `host:port`. */
export interface TargetHealthOrder {
  upstreamId: string;
  target: string;
  healthy: boolean;
}

export interface TargetHealth extends TargetHealthOrder {
  cpId: string;
}

/** oauth2 access tokens another replica revoked (a refresh token was redeemed there). */
export interface OAuth2Revoked {
  cpId: string;
  tokens: UsedToken[];
}

const CP_ID = /^[\x21-\x7e]{1,200}$/;
/** A stored target: `host:port` (IPv6 in brackets), printable ASCII, no spaces. */
const TARGET = /^[\x21-\x7e]{1,300}:[0-9]{1,5}$/;
const VERSION = /^(0|[1-9][0-9]{0,18})$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const CACHE_KEY = /^[0-9a-f]{64}$/;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeConfigChanged(m: ConfigChanged): Uint8Array {
  return encoder.encode(JSON.stringify({ cp_id: m.cpId, version: m.version.toString() }));
}

export function encodeProxyCachePurge(m: ProxyCachePurge): Uint8Array {
  return encoder.encode(JSON.stringify({ cp_id: m.cpId, plugin_id: m.pluginId, cache_key: m.key }));
}

export function encodeTargetHealth(m: TargetHealth): Uint8Array {
  return encoder.encode(
    JSON.stringify({ cp_id: m.cpId, upstream_id: m.upstreamId, target: m.target, healthy: m.healthy }),
  );
}

/** One message per OAUTH2_REVOKED_PER_MESSAGE tokens. */
export function encodeOAuth2Revoked(m: OAuth2Revoked): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < m.tokens.length; i += OAUTH2_REVOKED_PER_MESSAGE) {
    const tokens = m.tokens
      .slice(i, i + OAUTH2_REVOKED_PER_MESSAGE)
      .map((t) => ({ jti: t.jti, credential_id: t.credentialId, expires_at: t.expiresAt }));
    out.push(encoder.encode(JSON.stringify({ cp_id: m.cpId, tokens })));
  }
  return out;
}

/** The payload as a plain JSON object with exactly `keys`, or null. */
function object(data: Uint8Array, keys: readonly string[]): Record<string, unknown> | null {
  if (data.length === 0 || data.length > MAX_MESSAGE_BYTES) return null;
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(data));
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const got = Object.keys(value);
  if (got.length !== keys.length || !keys.every((k) => Object.hasOwn(value, k))) return null;
  return value as Record<string, unknown>;
}

function cpId(v: unknown): string | null {
  return typeof v === 'string' && CP_ID.test(v) ? v : null;
}

/** Strings matching `re`, or null; anything else is `undefined` (invalid). */
function nullable(v: unknown, re: RegExp): string | null | undefined {
  if (v === null) return null;
  return typeof v === 'string' && re.test(v) ? v : undefined;
}

export function decodeConfigChanged(data: Uint8Array): ConfigChanged | null {
  const o = object(data, ['cp_id', 'version']);
  if (!o) return null;
  const id = cpId(o.cp_id);
  if (id === null || typeof o.version !== 'string' || !VERSION.test(o.version)) return null;
  const version = BigInt(o.version);
  // Postgres bigint: the version column never exceeds it.
  if (version > 9_223_372_036_854_775_807n) return null;
  return { cpId: id, version };
}

export function decodeProxyCachePurge(data: Uint8Array): ProxyCachePurge | null {
  const o = object(data, ['cp_id', 'plugin_id', 'cache_key']);
  if (!o) return null;
  const id = cpId(o.cp_id);
  const pluginId = nullable(o.plugin_id, UUID);
  const key = nullable(o.cache_key, CACHE_KEY);
  if (id === null || pluginId === undefined || key === undefined) return null;
  // A plugin's purge always names a key (Kong has no "every key of one plugin" endpoint).
  if (pluginId !== null && key === null) return null;
  return { cpId: id, pluginId, key };
}

export function decodeTargetHealth(data: Uint8Array): TargetHealth | null {
  const o = object(data, ['cp_id', 'upstream_id', 'target', 'healthy']);
  if (!o) return null;
  const id = cpId(o.cp_id);
  if (id === null || typeof o.healthy !== 'boolean') return null;
  if (typeof o.upstream_id !== 'string' || !UUID.test(o.upstream_id)) return null;
  if (typeof o.target !== 'string' || !TARGET.test(o.target)) return null;
  return { cpId: id, upstreamId: o.upstream_id, target: o.target, healthy: o.healthy };
}

export function decodeOAuth2Revoked(data: Uint8Array): OAuth2Revoked | null {
  const o = object(data, ['cp_id', 'tokens']);
  if (!o) return null;
  const id = cpId(o.cp_id);
  if (id === null || !Array.isArray(o.tokens)) return null;
  if (o.tokens.length === 0 || o.tokens.length > OAUTH2_REVOKED_PER_MESSAGE) return null;
  const tokens: UsedToken[] = [];
  for (const t of o.tokens as unknown[]) {
    if (typeof t !== 'object' || t === null || Array.isArray(t)) return null;
    const keys = Object.keys(t);
    if (keys.length !== 3) return null;
    const { jti, credential_id, expires_at } = t as Record<string, unknown>;
    const token = { jti, credentialId: credential_id, expiresAt: expires_at } as UsedToken;
    if (!isStorableToken(token)) return null;
    tokens.push({ jti: token.jti, credentialId: token.credentialId, expiresAt: token.expiresAt });
  }
  return { cpId: id, tokens };
}

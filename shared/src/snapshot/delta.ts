/**
 * Delta sync: the change from one config (the base) to a newer one (the target) as entity
 * upserts and deletes keyed by kind + id, signed like a snapshot.
 *
 * - The CP indexes each config it hands out (`indexConfig`: per top-level list, id -> canonical
 *   JSON of the entity), diffs two of them (`diffConfigs`) into the ops bytes and signs them
 *   (`signDelta`). The ops bytes are deterministic (kinds and ids sorted, entities in canonical
 *   JSON), so every replica builds the same ones.
 * - The DP verifies the signature and that the base is the config it holds (`verifyDelta`),
 *   applies the ops to it (`applyDelta`) and keeps the result only if its canonical bytes hash
 *   to the signed hash of the full target: the config a DP serves always hashes to the CP's full
 *   snapshot hash, whichever way it arrived.
 *
 * The JWS claims carry what a snapshot's carry about the target (`ver`, `hash`, `size`, `iat`,
 * `cp`) plus the base (`base_ver`, `base_hash`) and the ops (`ops_hash`, `ops_size`). So the
 * delta's JWS beside the target's full bytes verifies as a snapshot does (`verifySnapshotBytes`):
 * that is what the DP's disk cache keeps after applying a delta.
 *
 * Ops bytes (UTF-8 JSON, every section present, sorted):
 *   {"del":{"<kind>":["<id>",…]},"put":{"<kind>":[<entity>,…]},"set":{"<key>":<value>},"unset":["<key>",…]}
 * `del`/`put` act on top-level lists of entities (objects with a unique string `id`) present in
 * both configs; `set`/`unset` replace or remove any other top-level member as a whole.
 */
import { gzipSync } from 'node:zlib';
import { create } from '@bufbuild/protobuf';
import { CompactSign } from 'jose';
import { SnapshotDeltaSchema, type SnapshotDelta } from '@gatehouse/proto/gen/gatehouse/v1/cluster_pb';
import { SnapshotErrors } from '../errors.js';
import { encodeConfig, sha256Hex } from './canonical.js';
import { signingHeader, type SigningKey, type TrustedKeys } from './keys.js';
import {
  expiryClaim,
  inflateBounded,
  MAX_SNAPSHOT_BYTES,
  parseSnapshotClaims,
  verifyCompactJws,
  type SignedSnapshot,
  type SnapshotClaims,
} from './signed-snapshot.js';

export const DELTA_TYP = 'gatehouse-delta+jws';

export interface DeltaClaims extends SnapshotClaims {
  base_ver: string;
  base_hash: string;
  /** SHA-256 (hex) and length of the uncompressed ops bytes. */
  ops_hash: string;
  ops_size: number;
}

/** The wire form of a delta; mirrors the `SnapshotDelta` proto message. */
export interface SignedDelta {
  baseVersion: bigint;
  baseHash: string;
  version: bigint;
  hash: string;
  jws: string;
  /** The ops bytes, compressed as named. */
  ops: Uint8Array;
  compression: 'gzip' | 'identity';
  /** Length of the uncompressed ops bytes. */
  uncompressedSize: number;
}

/** A config indexed for diffing (from its canonical bytes). */
export interface ConfigIndex {
  /** Top-level lists of entities: kind -> (id -> canonical JSON of the entity), ids in order. */
  lists: Map<string, Map<string, string>>;
  /** Every other top-level member: key -> canonical JSON of its value. */
  others: Map<string, string>;
  /** Length of the canonical bytes indexed. */
  size: number;
}

/** Top-level keys a delta may name: entity kinds and `_`-prefixed members (never `__proto__`). */
const KEY_RE = /^_?[a-z][a-z0-9_]{0,63}$/;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Indexes a config's canonical bytes (as `encodeConfig` makes them). With `previous`, an entity
 * whose JSON is unchanged reuses the previous index's string, so configs kept side by side share
 * what did not change. Throws GH_ERR_SNAPSHOT_MALFORMED when the bytes are not a JSON object.
 */
export function indexConfig(bytes: Uint8Array | string, previous?: ConfigIndex): ConfigIndex {
  const text = typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw SnapshotErrors.malformed('config bytes are not JSON');
  }
  if (!isPlainObject(parsed)) throw SnapshotErrors.malformed('config bytes are not a JSON object');
  const lists = new Map<string, Map<string, string>>();
  const others = new Map<string, string>();
  for (const [key, value] of Object.entries(parsed)) {
    const entities = Array.isArray(value) ? entityMap(value, previous?.lists.get(key)) : null;
    if (entities) lists.set(key, entities);
    else {
      const json = JSON.stringify(value);
      const prev = previous?.others.get(key);
      others.set(key, prev === json ? prev : json);
    }
  }
  return { lists, others, size: Buffer.byteLength(text) };
}

/** id -> JSON of each entity, or null when the list is not one of entities with unique string ids. */
function entityMap(list: unknown[], previous: Map<string, string> | undefined): Map<string, string> | null {
  const out = new Map<string, string>();
  for (const item of list) {
    if (!isPlainObject(item) || typeof item.id !== 'string' || out.has(item.id)) return null;
    const json = JSON.stringify(item);
    const prev = previous?.get(item.id);
    out.set(item.id, prev === json ? prev : json);
  }
  return out;
}

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The ops bytes turning `base` into `target`, or null when no delta can say it (a top-level key
 * a delta may not name). Deterministic: the same two configs give the same bytes anywhere.
 */
export function diffConfigs(base: ConfigIndex, target: ConfigIndex): Buffer | null {
  const del: string[] = [];
  const put: string[] = [];
  const set: string[] = [];
  const unset: string[] = [];
  const keys = [
    ...new Set([
      ...base.lists.keys(),
      ...base.others.keys(),
      ...target.lists.keys(),
      ...target.others.keys(),
    ]),
  ].sort(byString);
  for (const key of keys) {
    if (!KEY_RE.test(key)) return null;
    const bl = base.lists.get(key);
    const tl = target.lists.get(key);
    const k = JSON.stringify(key);
    if (bl && tl) {
      const gone = [...bl.keys()].filter((id) => !tl.has(id));
      const changed = [...tl].filter(([id, json]) => bl.get(id) !== json);
      if (gone.length > 0)
        del.push(
          `${k}:[${gone
            .sort(byString)
            .map((id) => JSON.stringify(id))
            .join(',')}]`,
        );
      if (changed.length > 0)
        put.push(
          `${k}:[${changed
            .sort((a, b) => byString(a[0], b[0]))
            .map(([, json]) => json)
            .join(',')}]`,
        );
      continue;
    }
    const before = bl ? listJson(bl) : base.others.get(key);
    const after = tl ? listJson(tl) : target.others.get(key);
    if (after === undefined) unset.push(k);
    else if (before !== after) set.push(`${k}:${after}`);
  }
  return Buffer.from(
    `{"del":{${del.join(',')}},"put":{${put.join(',')}},"set":{${set.join(',')}},"unset":[${unset.join(',')}]}`,
  );
}

const listJson = (m: Map<string, string>) => `[${[...m.values()].join(',')}]`;

/**
 * Applies ops bytes to a config's canonical bytes; returns the canonical bytes of the result and
 * their hash. Never trusts the ops' shape: anything but the format above, an op on a list the
 * base lacks or an entity without a string id throws GH_ERR_SNAPSHOT_MALFORMED.
 */
export function applyDelta(baseBytes: Uint8Array, opsBytes: Uint8Array): { bytes: Buffer; hash: string } {
  let base: unknown;
  let ops: unknown;
  try {
    base = JSON.parse(Buffer.from(baseBytes).toString('utf8'));
  } catch {
    throw SnapshotErrors.malformed('the base config is not JSON');
  }
  try {
    ops = JSON.parse(Buffer.from(opsBytes).toString('utf8'));
  } catch {
    throw SnapshotErrors.malformed('delta ops are not JSON');
  }
  if (!isPlainObject(base)) throw SnapshotErrors.malformed('the base config is not a JSON object');
  if (
    !isPlainObject(ops) ||
    !isPlainObject(ops.del) ||
    !isPlainObject(ops.put) ||
    !isPlainObject(ops.set) ||
    !Array.isArray(ops.unset) ||
    Object.keys(ops).length !== 4
  ) {
    throw SnapshotErrors.malformed('delta ops must be {"del":{…},"put":{…},"set":{…},"unset":[…]}');
  }
  const config = base;
  const listOf = (kind: string, op: string): unknown[] => {
    checkKey(kind);
    const list = Object.hasOwn(config, kind) ? config[kind] : undefined;
    if (!Array.isArray(list))
      throw SnapshotErrors.malformed(`delta ${op} on "${kind}", not a list of the base`);
    return list;
  };
  for (const [kind, ids] of Object.entries(ops.del)) {
    const list = listOf(kind, 'del');
    if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string'))
      throw SnapshotErrors.malformed(`delta del "${kind}" is not a list of ids`);
    const gone = new Set(ids);
    setMember(
      config,
      kind,
      list.filter((e) => !(isPlainObject(e) && gone.has(e.id as string))),
    );
  }
  for (const [kind, entities] of Object.entries(ops.put)) {
    const list = listOf(kind, 'put');
    if (!Array.isArray(entities)) throw SnapshotErrors.malformed(`delta put "${kind}" is not a list`);
    const at = new Map<string, number>();
    list.forEach((e, i) => {
      if (isPlainObject(e) && typeof e.id === 'string') at.set(e.id, i);
    });
    for (const entity of entities) {
      if (!isPlainObject(entity) || typeof entity.id !== 'string')
        throw SnapshotErrors.malformed(`delta put "${kind}" holds an entity without a string id`);
      const i = at.get(entity.id);
      if (i === undefined) {
        at.set(entity.id, list.length);
        list.push(entity);
      } else list[i] = entity;
    }
  }
  for (const [key, value] of Object.entries(ops.set)) {
    checkKey(key);
    setMember(config, key, value);
  }
  for (const key of ops.unset) {
    if (typeof key !== 'string')
      throw SnapshotErrors.malformed('delta unset holds a key that is not a string');
    checkKey(key);
    delete config[key];
  }
  try {
    return encodeConfig(config as never);
  } catch (e) {
    // e.g. a value nested too deep to encode (RangeError)
    throw SnapshotErrors.malformed(`the config a delta gives does not encode: ${(e as Error).message}`);
  }
}

function checkKey(key: string): void {
  if (!KEY_RE.test(key))
    throw SnapshotErrors.malformed(`delta names the key ${JSON.stringify(key.slice(0, 80))}`);
}

function setMember(o: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

const encoder = new TextEncoder();

/** Signs ops bytes (uncompressed) from `base` to `target` (the target's full canonical bytes' hash and size). */
export async function signDelta(o: {
  base: { version: bigint; hash: string };
  target: { version: bigint; hash: string; size: number };
  ops: Uint8Array;
  cpId: string;
  key: SigningKey;
  issuedAt?: number;
}): Promise<SignedDelta> {
  const iat = o.issuedAt ?? Math.floor(Date.now() / 1000);
  const claims: DeltaClaims = {
    ver: o.target.version.toString(),
    hash: o.target.hash,
    size: o.target.size,
    iat,
    cp: o.cpId,
    ...expiryClaim(o.key, iat),
    base_ver: o.base.version.toString(),
    base_hash: o.base.hash,
    ops_hash: sha256Hex(o.ops),
    ops_size: o.ops.length,
  };
  const jws = await new CompactSign(encoder.encode(JSON.stringify(claims)))
    .setProtectedHeader(signingHeader(o.key, DELTA_TYP))
    .sign(o.key.key);
  return {
    baseVersion: o.base.version,
    baseHash: o.base.hash,
    version: o.target.version,
    hash: o.target.hash,
    jws,
    ops: gzipSync(o.ops, { level: 6 }),
    compression: 'gzip',
    uncompressedSize: o.ops.length,
  };
}

export interface VerifiedDelta {
  claims: DeltaClaims;
  kid: string;
  /** The ops bytes, decompressed, their hash checked. */
  ops: Buffer;
}

/**
 * Verifies a delta against the config held: signature by a trusted key (typ
 * `gatehouse-delta+jws`), the message's fields equal to the signed claims, the target newer than
 * the version held, the base equal to the hash held (else GH_ERR_SNAPSHOT_DELTA_BASE), and the ops
 * bytes (bounded by the signed size) hashing to the signed ops hash. The ops are not applied.
 */
export async function verifyDelta(
  d: SignedDelta,
  trusted: TrustedKeys,
  held: { hash: string; version: bigint } | null,
): Promise<VerifiedDelta> {
  const { kid, payload } = await verifyCompactJws(d.jws, trusted, 'delta', DELTA_TYP);
  const claims = parseSnapshotClaims(payload, 'delta') as DeltaClaims;
  if (
    typeof claims.base_ver !== 'string' ||
    !/^\d+$/.test(claims.base_ver) ||
    typeof claims.base_hash !== 'string' ||
    typeof claims.ops_hash !== 'string' ||
    !Number.isSafeInteger(claims.ops_size) ||
    claims.ops_size < 0
  ) {
    throw SnapshotErrors.malformed('delta claims lack base version, base hash or ops hash/size');
  }
  if (claims.ops_size > MAX_SNAPSHOT_BYTES) {
    throw SnapshotErrors.malformed(
      `delta ops of ${claims.ops_size} bytes exceed the ${MAX_SNAPSHOT_BYTES}-byte limit`,
    );
  }
  if (
    BigInt(claims.ver) !== d.version ||
    claims.hash !== d.hash ||
    BigInt(claims.base_ver) !== d.baseVersion ||
    claims.base_hash !== d.baseHash ||
    claims.ops_size !== d.uncompressedSize
  ) {
    throw SnapshotErrors.hashMismatch('delta versions/hashes differ from the signed claims');
  }
  if (held !== null && d.version <= held.version) {
    throw SnapshotErrors.staleVersion(`delta target version ${d.version} is not newer than ${held.version}`);
  }
  if (held === null || held.hash !== d.baseHash) {
    throw SnapshotErrors.deltaBase(
      held === null
        ? 'a delta arrived while no config is held'
        : `delta base ${d.baseHash.slice(0, 12)}… is not the config held (${held.hash.slice(0, 12)}…)`,
    );
  }
  const ops = inflateBounded(d.ops, d.compression, claims.ops_size, 'delta ops');
  if (ops.length !== claims.ops_size || sha256Hex(ops) !== claims.ops_hash) {
    throw SnapshotErrors.hashMismatch('delta ops do not match the signed ops hash');
  }
  return { claims, kid, ops };
}

/**
 * The snapshot a verified and applied delta gives: the delta's JWS (its claims name the target's
 * version, hash and size) beside the target's full bytes. It verifies as any snapshot does; the
 * DP keeps it as its disk cache.
 */
export function snapshotFromDelta(d: SignedDelta, targetBytes: Uint8Array): SignedSnapshot {
  return {
    version: d.version,
    hash: d.hash,
    jws: d.jws,
    config: gzipSync(targetBytes, { level: 1 }),
    compression: 'gzip',
    uncompressedSize: targetBytes.length,
  };
}

export function signedDeltaToProto(d: SignedDelta): SnapshotDelta {
  return create(SnapshotDeltaSchema, {
    baseVersion: d.baseVersion,
    baseHash: d.baseHash,
    version: d.version,
    hash: d.hash,
    jws: d.jws,
    ops: d.ops,
    compression: d.compression,
    uncompressedSize: BigInt(d.uncompressedSize),
  });
}

/** Throws GH_ERR_SNAPSHOT_MALFORMED on a compression or size verifyDelta cannot take. */
export function signedDeltaFromProto(d: SnapshotDelta): SignedDelta {
  if (d.compression !== 'gzip' && d.compression !== 'identity') {
    throw SnapshotErrors.malformed(`unknown delta compression "${d.compression.slice(0, 40)}"`);
  }
  if (d.uncompressedSize > BigInt(MAX_SNAPSHOT_BYTES)) {
    throw SnapshotErrors.malformed('delta ops size exceeds the limit');
  }
  return {
    baseVersion: d.baseVersion,
    baseHash: d.baseHash,
    version: d.version,
    hash: d.hash,
    jws: d.jws,
    ops: d.ops,
    compression: d.compression,
    uncompressedSize: Number(d.uncompressedSize),
  };
}

import { createHash } from 'node:crypto';

/** Kong's namespace for declarative ids (kong/db/schema/others/declarative_config.lua). */
export const DECLARATIVE_NAMESPACE = 'fd02801f-0957-4a15-a55a-c8d9606f30b5';

function uuidBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

/** RFC 4122 version-5 UUID (SHA-1 of namespace + name). */
export function uuidv5(namespace: string, name: string): string {
  const hash = createHash('sha1').update(uuidBytes(namespace)).update(name, 'utf8').digest();
  const b = hash.subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x50;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const namespaces = new Map<string, string>();

/**
 * The id Kong's DB-less mode gives an entity of `entity` (DAO name) whose natural key is `key`:
 * `uuidv5(uuidv5(DECLARATIVE_NAMESPACE, entity), key)`. The same file always yields the same ids.
 */
export function entityId(entity: string, key: string): string {
  let ns = namespaces.get(entity);
  if (!ns) {
    ns = uuidv5(DECLARATIVE_NAMESPACE, entity);
    namespaces.set(entity, ns);
  }
  return uuidv5(ns, key);
}

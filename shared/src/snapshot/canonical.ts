import { createHash } from 'node:crypto';
import type { GatehouseConfig } from '../config/model.js';

/**
 * Canonical JSON: object keys sorted, no whitespace, `undefined` dropped. The same value
 * always gives the same string, on any machine, so the same config gives the same hash.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortDeep(value));
}

function sortDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortDeep);
  if (value !== null && typeof value === 'object') {
    if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value;
    // A null-prototype object, so a key such as "__proto__" (a legal header name) is kept as data.
    const out = Object.create(null) as Record<string, unknown>;
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined)
        Object.defineProperty(out, key, { value: sortDeep(v), enumerable: true, writable: true });
    }
    return out;
  }
  if (typeof value === 'bigint') return value.toString();
  return value;
}

const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Sorts every entity list by id and encodes the result canonically. */
export function encodeConfig(config: GatehouseConfig): { bytes: Buffer; hash: string } {
  const ordered: Record<string, unknown> = {};
  for (const [key, list] of Object.entries(config)) {
    ordered[key] = Array.isArray(list) ? [...(list as { id: string }[])].sort(byId) : list;
  }
  const bytes = Buffer.from(canonicalJson(ordered), 'utf8');
  return { bytes, hash: sha256Hex(bytes) };
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

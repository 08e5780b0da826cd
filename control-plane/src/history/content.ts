/**
 * A history version's stored content: the configuration as the store reads it (`readAll`, secrets
 * in clear, as in the entity tables) in canonical JSON, gzipped, keyed by the SHA-256 of that JSON
 * (identical contents are stored once).
 */
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { canonicalJson, completeConfig, sha256Hex, type GatehouseConfig } from '@gatehouse/shared';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

export interface PackedConfig {
  /** sha256 of the canonical JSON. */
  hash: string;
  gzip: Uint8Array<ArrayBuffer>;
}

export async function packConfig(config: GatehouseConfig): Promise<PackedConfig> {
  const bytes = Buffer.from(canonicalJson(config), 'utf8');
  return { hash: sha256Hex(bytes), gzip: new Uint8Array(await gzipAsync(bytes)) };
}

export async function unpackConfig(packed: Uint8Array): Promise<GatehouseConfig> {
  const bytes = await gunzipAsync(packed);
  // A version stored before a newer entity kind existed has no list for it: empty.
  return completeConfig(JSON.parse(bytes.toString('utf8')) as Partial<GatehouseConfig>);
}

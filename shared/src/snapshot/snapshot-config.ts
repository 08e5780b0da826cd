/**
 * A verified snapshot's config, parsed. In a module of its own, without the signature code (jose):
 * a data plane worker parses what its primary verified and never loads jose (docs/dev/architecture.md,
 * "Start time"). signed-snapshot.ts re-exports it.
 */
import type { GatehouseConfig } from '../config/model.js';
import { completeConfig, ENTITY_KINDS } from '../entities/registry.js';
import { SnapshotErrors } from '../errors.js';

/** The config of verified snapshot bytes (as text); throws GH_ERR_SNAPSHOT_MALFORMED. */
export function parseSnapshotConfig(json: string): GatehouseConfig {
  let parsed: Partial<GatehouseConfig>;
  try {
    parsed = JSON.parse(json) as Partial<GatehouseConfig>;
  } catch {
    throw SnapshotErrors.malformed('snapshot config is not valid JSON');
  }
  if (
    !parsed ||
    typeof parsed !== 'object' ||
    !Array.isArray(parsed.services) ||
    !Array.isArray(parsed.routes)
  ) {
    throw SnapshotErrors.malformed('snapshot config lacks services/routes');
  }
  for (const key of ENTITY_KINDS) {
    if (parsed[key] !== undefined && !Array.isArray(parsed[key])) {
      throw SnapshotErrors.malformed(`snapshot config "${key}" is not a list`);
    }
  }
  // A snapshot from an older CP may lack entity lists added since: they are empty.
  return completeConfig(parsed);
}

/**
 * The filters of `GET /clustering/data-planes`: `region=<region>`, `label=<key>=<value>`
 * (repeatable: every one must match) and `sync_status=<Kong sync status>`. A bad value is a 400
 * naming the parameter; the checks are the ones DPs' own `--region`/`--label` go through.
 */
import { MAX_LABELS, parseLabel, regionError } from '@gatehouse/shared';
import { SYNC_STATUSES, type SyncStatus } from './registry.js';

export interface DataPlaneFilter {
  region?: string;
  labels?: Record<string, string>;
  syncStatus?: SyncStatus;
}

export type FilterResult = { filter: DataPlaneFilter } | { field: string; message: string };

/** The filter of a parsed query string (values as Express gives them: string, array, object). */
export function parseDataPlaneFilter(query: Record<string, unknown>): FilterResult {
  const filter: DataPlaneFilter = {};
  const { region, label, sync_status: syncStatus } = query;
  if (region !== undefined) {
    if (typeof region !== 'string') return { field: 'region', message: 'expected one string' };
    const e = regionError(region);
    if (e) return { field: 'region', message: e };
    filter.region = region;
  }
  if (label !== undefined) {
    const items = Array.isArray(label) ? (label as unknown[]) : [label];
    if (items.length > MAX_LABELS) return { field: 'label', message: `at most ${MAX_LABELS} label filters` };
    const labels: Record<string, string> = {};
    for (const item of items) {
      if (typeof item !== 'string') return { field: 'label', message: 'expected key=value' };
      const l = parseLabel(item);
      if ('error' in l) return { field: 'label', message: l.error };
      if (Object.hasOwn(labels, l.key) && labels[l.key] !== l.value)
        return { field: 'label', message: `label '${l.key}' given twice with different values` };
      labels[l.key] = l.value;
    }
    filter.labels = labels;
  }
  if (syncStatus !== undefined) {
    if (typeof syncStatus !== 'string' || !(SYNC_STATUSES as readonly string[]).includes(syncStatus))
      return { field: 'sync_status', message: `expected one of: ${SYNC_STATUSES.join(', ')}` };
    filter.syncStatus = syncStatus as SyncStatus;
  }
  return { filter };
}

/** The filter as query parameters (for the `next` link). */
export function filterParams(f: DataPlaneFilter): [string, string][] {
  return [
    ...(f.region === undefined ? [] : [['region', f.region] as [string, string]]),
    ...Object.entries(f.labels ?? {}).map(([k, v]) => ['label', `${k}=${v}`] as [string, string]),
    ...(f.syncStatus === undefined ? [] : [['sync_status', f.syncStatus] as [string, string]]),
  ];
}

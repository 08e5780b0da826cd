/**
 * `GET /metrics` on the Admin API port: the control plane's Prometheus series (prom-client, one
 * registry per control plane). Behind the Admin API's access rules like every other path (the
 * token when one is set; docs/security.md): it names every data plane of the fleet.
 *
 *   gatehouse_cp_data_planes{sync_status,connected}   DPs known, read from the registry at scrape
 *   kong_data_plane_last_seen / kong_data_plane_config_hash / kong_data_plane_version_compatible
 *                                                      Kong's CP series, one per DP
 *   gatehouse_cp_snapshot_build_seconds, _bytes, _uncompressed_bytes, gatehouse_cp_config_version
 *   gatehouse_cp_snapshot_builds_total{result}
 *   gatehouse_cp_admin_request_duration_seconds{method,code}   every Admin API request
 */
import { performance } from 'node:perf_hooks';
import express, { type RequestHandler, type Router } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DataPlanePage, SyncStatus } from '../cluster/registry.js';
import { DELTA_FALLBACK_REASONS, type DeltaStats } from '../snapshot/deltas.js';
import type { PublishedSnapshot, PublisherStats } from '../snapshot/publisher.js';

/** What the metrics read of the fleet registry and the snapshot publisher. */
export interface CpMetricsSources {
  dataPlanes: { list(opts: { size?: number; offset?: string | null }): Promise<DataPlanePage> };
  publisher: { readonly latest: PublishedSnapshot | null; readonly stats: Readonly<PublisherStats> };
  /** Delta sync counters (snapshot/deltas.ts); absent: the delta metrics are not exported. */
  deltas?: { readonly stats: DeltaStats };
  /** Collect node's process metrics too (default true; off in tests with several CPs). */
  defaultMetrics?: boolean;
}

/** Sync statuses under which Kong counts a DP as incompatible (kong_data_plane_version_compatible 0). */
const INCOMPATIBLE: ReadonlySet<string> = new Set<SyncStatus>([
  'kong_version_incompatible',
  'plugin_set_incompatible',
  'plugin_version_incompatible',
]);

/** Kong's numeric config hash: the hex hash read as one number (a float, as Kong's exporter does). */
export function configHashNumber(hash: string): number {
  return /^[0-9a-f]+$/i.test(hash) ? Number(BigInt(`0x${hash}`)) : 0;
}

export class ControlPlaneMetrics {
  readonly registry = new Registry();
  private readonly adminLatency: Histogram<'method' | 'code'>;

  constructor(sources: CpMetricsSources) {
    const registers = [this.registry];
    const { dataPlanes, publisher } = sources;
    const lastSeen = new Gauge({
      name: 'kong_data_plane_last_seen',
      help: 'Last time data plane contacted control plane',
      labelNames: ['node_id', 'hostname', 'ip'],
      registers,
      collect: () => readFleetOnce(),
    });
    const configHash = new Gauge({
      name: 'kong_data_plane_config_hash',
      help: 'Config hash numeric value of the data plane',
      labelNames: ['node_id', 'hostname', 'ip'],
      registers,
      collect: () => readFleetOnce(),
    });
    const compatible = new Gauge({
      name: 'kong_data_plane_version_compatible',
      help: 'Version compatible status of the data plane, 0 is incompatible',
      labelNames: ['node_id', 'hostname', 'ip', 'kong_version'],
      registers,
      collect: () => readFleetOnce(),
    });
    const byStatus: Gauge<'sync_status' | 'connected'> = new Gauge({
      name: 'gatehouse_cp_data_planes',
      help: 'Data planes known to this control plane, by sync_status and whether their stream is connected.',
      labelNames: ['sync_status', 'connected'],
      registers,
      collect: () => readFleetOnce(),
    });
    // One read of the registry per scrape fills the four DP series: prom-client collects every
    // metric of a scrape at once, so they share the read in flight.
    let reading: Promise<void> | null = null;
    const readFleetOnce = (): Promise<void> =>
      (reading ??= readFleet().finally(() => {
        reading = null;
      }));
    const readFleet = async (): Promise<void> => {
      byStatus.reset();
      lastSeen.reset();
      configHash.reset();
      compatible.reset();
      let offset: string | null = null;
      do {
        const page: DataPlanePage = await dataPlanes.list({ size: 1000, offset });
        for (const dp of page.data) {
          byStatus.inc({ sync_status: dp.sync_status, connected: String(dp.connected) });
          const labels = { node_id: dp.id, hostname: dp.hostname, ip: dp.ip };
          lastSeen.set(labels, dp.last_seen);
          configHash.set(labels, configHashNumber(dp.config_hash));
          compatible.set({ ...labels, kong_version: dp.version }, INCOMPATIBLE.has(dp.sync_status) ? 0 : 1);
        }
        offset = page.offset;
      } while (offset !== null);
    };
    new Gauge({
      name: 'gatehouse_cp_snapshot_build_seconds',
      help: 'Time the newest published snapshot took to read, encode and sign.',
      registers,
      collect() {
        const latest = publisher.latest;
        if (latest !== null) this.set(latest.buildMs / 1000);
      },
    });
    new Gauge({
      name: 'gatehouse_cp_snapshot_bytes',
      help: 'Size of the newest published snapshot as sent (compressed when it is).',
      registers,
      collect() {
        const latest = publisher.latest;
        if (latest !== null) this.set(latest.snapshot.config.byteLength);
      },
    });
    new Gauge({
      name: 'gatehouse_cp_snapshot_uncompressed_bytes',
      help: 'Size of the newest published snapshot, uncompressed.',
      registers,
      collect() {
        const latest = publisher.latest;
        if (latest !== null) this.set(latest.snapshot.uncompressedSize);
      },
    });
    new Gauge({
      name: 'gatehouse_cp_config_version',
      help: 'Version of the newest published snapshot (0 = none).',
      registers,
      collect() {
        this.set(Number(publisher.latest?.snapshot.version ?? 0n));
      },
    });
    const deltas = sources.deltas;
    if (deltas) {
      new Counter({
        name: 'gatehouse_cp_deltas_sent_total',
        help: 'Config changes written to data planes as deltas (delta sync).',
        registers,
        collect() {
          this.reset();
          this.inc(deltas.stats.sent);
        },
      });
      new Counter({
        name: 'gatehouse_cp_delta_fallbacks_total',
        help: `Full snapshots written to data planes that take deltas, by reason (${DELTA_FALLBACK_REASONS.join(', ')}; unsupported: the DP does not take deltas).`,
        labelNames: ['reason'],
        registers,
        collect() {
          const st = deltas.stats;
          this.reset();
          for (const [reason, n] of Object.entries(st.fallbacks)) if (n > 0) this.inc({ reason }, n);
          if (st.unsupported > 0) this.inc({ reason: 'unsupported' }, st.unsupported);
        },
      });
      new Counter({
        name: 'gatehouse_cp_config_bytes_sent_total',
        help: 'Config bytes written to data planes (signature plus compressed config or ops), by kind: full (snapshots) or delta.',
        labelNames: ['kind'],
        registers,
        collect() {
          const { bytes } = deltas.stats;
          this.reset();
          this.inc({ kind: 'full' }, bytes.full);
          this.inc({ kind: 'delta' }, bytes.delta);
        },
      });
    }
    new Counter({
      name: 'gatehouse_cp_snapshot_builds_total',
      help: 'Snapshot builds by result: published, unchanged (same hash), failed.',
      labelNames: ['result'],
      registers,
      collect() {
        const s = publisher.stats;
        this.reset();
        if (s.published > 0) this.inc({ result: 'published' }, s.published);
        if (s.unchanged > 0) this.inc({ result: 'unchanged' }, s.unchanged);
        if (s.failures > 0) this.inc({ result: 'failed' }, s.failures);
      },
    });
    this.adminLatency = new Histogram({
      name: 'gatehouse_cp_admin_request_duration_seconds',
      help: 'Admin API requests: time to the end of the response, by method and status code.',
      labelNames: ['method', 'code'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    if (sources.defaultMetrics ?? true)
      collectDefaultMetrics({ register: this.registry, prefix: 'gatehouse_cp_' });
  }

  /** Times every Admin API request (mount first). The method label is bounded to the HTTP verbs. */
  timing(): RequestHandler {
    return (req, res, next) => {
      const start = performance.now();
      res.once('finish', () => {
        const method = KNOWN_METHODS.has(req.method) ? req.method : 'OTHER';
        this.adminLatency.observe({ method, code: res.statusCode }, (performance.now() - start) / 1000);
      });
      next();
    };
  }

  /** `GET /metrics` (Prometheus text). */
  router(): Router {
    const router = express.Router();
    router.get('/metrics', (_req, res, next) => {
      this.registry
        .metrics()
        .then((text) => res.type(this.registry.contentType).send(text))
        .catch(next);
    });
    return router;
  }
}

const KNOWN_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
]);

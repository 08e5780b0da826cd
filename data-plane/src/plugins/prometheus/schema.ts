import * as schema from '@gatehouse/shared/schema/index';
import { definePluginSpec, type PluginConfig } from '../api.js';

const { t } = schema;

/**
 * Kong's prometheus schema (kong/plugins/prometheus/schema.lua), without `ai_metrics` and
 * `wasm_metrics` (Gatehouse has no AI proxy or Wasm filters; see docs/observability.md).
 */
const prometheusSchema = t.record({
  per_consumer: t.boolean({
    required: true,
    default: false,
    description:
      'A boolean value that determines if per-consumer metrics should be collected. If enabled, the `kong_http_requests_total` and `kong_bandwidth_bytes` metrics fill in the consumer label when available.',
  }),
  status_code_metrics: t.boolean({
    required: true,
    default: false,
    description:
      'A boolean value that determines if status code metrics should be collected. If enabled, `http_requests_total` metrics will be exported.',
  }),
  latency_metrics: t.boolean({
    required: true,
    default: false,
    description:
      'A boolean value that determines if latency metrics should be collected. If enabled, `kong_latency_ms`, `upstream_latency_ms` and `request_latency_ms` metrics will be exported.',
  }),
  bandwidth_metrics: t.boolean({
    required: true,
    default: false,
    description:
      'A boolean value that determines if bandwidth metrics should be collected. If enabled, `bandwidth_bytes` metrics will be exported.',
  }),
  upstream_health_metrics: t.boolean({
    required: true,
    default: false,
    description:
      'A boolean value that determines if upstream metrics should be collected. If enabled, `upstream_target_health` metric will be exported.',
  }),
});

/** Kong's PRIORITY 13: its log handler runs late, after the plugins that may answer. */
export const prometheusSpec = definePluginSpec({
  name: 'prometheus',
  version: '1.0.0',
  priority: 13,
  schema: prometheusSchema,
});

export type PrometheusConfig = PluginConfig<typeof prometheusSchema>;

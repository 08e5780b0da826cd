/**
 * Kong's `tracing_instrumentations` (kong.conf): which spans a data plane records besides the
 * request's own (`kong` and `kong.upstream`). Gatehouse records plugin-phase spans, named as
 * Kong names them: `kong.rewrite.plugin.<name>`, `kong.access.plugin.<name>` and
 * `kong.header_filter.plugin.<name>` (Gatehouse's `response` phase, which runs when the upstream's
 * response head arrives, as Kong's header_filter). Set with `GATEHOUSE_TRACING_INSTRUMENTATIONS`
 * (Kong's values, comma-separated; default `off`); it applies to whichever tracer traces a request
 * (the `OTEL_*` one or an `opentelemetry`/`zipkin` plugin's). Off, a request pays nothing for it:
 * the plugin runner asks only when the request has a trace, and then reads one flag.
 */
import type { PhaseName } from '../plugins/api.js';

/** Kong's values (kong/conf_loader/constants.lua TRACING_INSTRUMENTATIONS, plus off and all). */
export const INSTRUMENTATIONS = [
  'off',
  'all',
  'request',
  'db_query',
  'dns_query',
  'router',
  'http_client',
  'balancer',
  'plugin_rewrite',
  'plugin_access',
  'plugin_header_filter',
] as const;
export type Instrumentation = (typeof INSTRUMENTATIONS)[number];

/** The plugin phases each value traces; values absent here record nothing more (see docs). */
const PHASES_OF: Partial<Record<Instrumentation, readonly PhaseName[]>> = {
  all: ['rewrite', 'access', 'response'],
  plugin_rewrite: ['rewrite'],
  plugin_access: ['access'],
  plugin_header_filter: ['response'],
};

/** Kong's phase name in a plugin span's name. */
export const KONG_PHASE: Readonly<Record<PhaseName, string>> = {
  rewrite: 'rewrite',
  access: 'access',
  response: 'header_filter',
  log: 'log',
};

/** The plugin phases `raw` (comma-separated Kong values) traces, or why it is not valid. */
export function parseInstrumentations(raw: string): { phases: ReadonlySet<PhaseName> } | { error: string } {
  const names = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const phases = new Set<PhaseName>();
  for (const n of names) {
    if (!(INSTRUMENTATIONS as readonly string[]).includes(n))
      return { error: `unknown value '${n}' (known: ${INSTRUMENTATIONS.join(', ')})` };
    if (n === 'off' && names.length > 1) return { error: "'off' cannot be combined with other values" };
    for (const p of PHASES_OF[n as Instrumentation] ?? []) phases.add(p);
  }
  return { phases };
}

let traced: ReadonlySet<PhaseName> = new Set();

/** Sets the phases whose plugins get spans in this process (at start). */
export function tracePluginPhases(phases: ReadonlySet<PhaseName>): void {
  traced = phases;
}

/** Whether the plugins of `phase` get spans. */
export function tracesPluginPhase(phase: PhaseName): boolean {
  return traced.has(phase);
}

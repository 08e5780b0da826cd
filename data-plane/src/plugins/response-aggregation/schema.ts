import * as schema from '@gatehouse/shared/schema/index';
import { definePluginSpec, type PluginConfig } from '../api.js';
import { CALL_NAME_RE, orderCalls, parsePath, parseTemplate, referencedCalls } from './compose.js';

const { t } = schema;

/** At most this many calls per instance (each is one backend request per client request). */
export const MAX_CALLS = 16;

const pathCheck = (v: string): string | null => {
  const p = parsePath(v);
  return typeof p === 'string' ? p : null;
};

const callSchema = t.record({
  name: t.string({
    required: true,
    custom_validator: (v: string) =>
      CALL_NAME_RE.test(v) ? null : 'a call name starts with a letter: letters, digits, _ and - (at most 64)',
    description: "The call's name: its result's key in the response, and how other calls refer to it.",
  }),
  service: t.string({
    required: true,
    len_min: 1,
    description:
      'The name (or id) of the service the call goes to: its protocol, host, port, path, TLS settings and read timeout apply. The host never comes from a request or a response.',
  }),
  path: t.string({
    required: true,
    len_max: 2048,
    custom_validator: (v: string) => {
      const parts = parseTemplate(v);
      return typeof parts === 'string' ? parts : null;
    },
    description:
      "Path and query sent (after the service's path): literal text with `{resp.<call>.<dotted.path>}`, `{request.query.<name>}`, `{request.header.<name>}` and `{request.captures.<name>}` placeholders; each value is percent-encoded.",
  }),
  depends_on: t.array(t.string(), {
    required: true,
    default: [],
    len_max: MAX_CALLS,
    description:
      'Calls that must succeed before this one starts (the calls its path reads with `{resp.…}` are added).',
  }),
  timeout: t.integer({
    required: true,
    default: 5000,
    between: [1, 600_000],
    description: 'Milliseconds the call may take, from its start to the last byte of its body.',
  }),
  fields: t.array(t.string({ custom_validator: pathCheck }), {
    len_max: 64,
    description:
      "Allow-list of dotted paths kept from the call's JSON body (structure kept); null keeps the whole body.",
  }),
  rename: t.map(t.string({ custom_validator: pathCheck }), t.string({ custom_validator: pathCheck }), {
    description: 'Dotted path → new dotted path, applied after `fields`.',
  }),
});

const responseAggregationSchema = t.record(
  {
    calls: t.array(callSchema, {
      required: true,
      len_min: 1,
      len_max: MAX_CALLS,
      description: `The backend calls (1 to ${MAX_CALLS}), run in parallel unless one depends on another.`,
    }),
    merge: t.boolean({
      required: true,
      default: false,
      description:
        "Merge each call's (object) result at the top level of the response (later calls win a key) instead of nesting it under the call's name.",
    }),
    on_failure: t.string({
      required: true,
      default: 'fail',
      one_of: ['fail', 'partial'],
      description:
        '`fail`: any failed call answers 502 naming it. `partial`: 200 with the failed calls null and their names in X-Gatehouse-Aggregation-Partial.',
    }),
    timeout: t.integer({
      required: true,
      default: 10_000,
      between: [1, 600_000],
      description: 'Milliseconds the whole aggregation may take; calls still running then fail.',
    }),
    max_body_size: t.integer({
      required: true,
      default: 1_048_576,
      between: [1, 16_777_216],
      description: 'The most bytes read of each call’s response body; a larger body fails the call.',
    }),
    forward_headers: t.array(t.headerName(), {
      required: true,
      default: [],
      len_max: 32,
      description:
        'Client request headers sent on every call (besides the request id and trace headers). None by default: credentials are not forwarded unless named.',
    }),
  },
  {
    entity_checks: [
      {
        custom_entity_check: {
          field_sources: ['calls'],
          fn: (c) => {
            const calls = c.calls as { name: string; path: string; depends_on: string[] }[];
            const names = new Set(calls.map((x) => x.name));
            const errs: (Record<string, string> | null)[] = calls.map(() => null);
            const refs = calls.map((call, i) => {
              const parts = parseTemplate(call.path);
              const referenced = typeof parts === 'string' ? [] : referencedCalls(parts);
              const unknown = referenced.find((r) => !names.has(r));
              if (unknown !== undefined) errs[i] = { path: `unknown call '${unknown}'` };
              return { name: call.name, deps: [...new Set([...call.depends_on, ...referenced])] };
            });
            if (!errs.some((e) => e !== null)) {
              const ordered = orderCalls(refs);
              if ('errors' in ordered)
                for (const [i, e] of ordered.errors) errs[i] = { [e.field]: e.message };
            }
            return errs.some((e) => e !== null) ? { calls: errs } : null;
          },
        },
      },
    ],
  },
);

/**
 * response-aggregation (ours; Kong has no aggregation plugin, KrakenD and APIPark do): answers
 * the request with a JSON object composed of N backend calls. Priority 1: the last access-phase
 * handler, after authentication, authorisation, rate limiting, size limits and
 * request-termination (2), since it replaces proxying itself (docs/aggregation.md).
 */
export const responseAggregationSpec = definePluginSpec({
  name: 'response-aggregation',
  version: '1.0.0',
  priority: 1,
  schema: responseAggregationSchema,
});

export type ResponseAggregationConfig = PluginConfig<typeof responseAggregationSpec.schema>;

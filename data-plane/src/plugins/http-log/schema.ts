import * as schema from '@gatehouse/shared/schema/index';
import { definePluginSpec, type PluginConfig } from '../api.js';
import { customFieldsByLua, logKeepalive, logTimeout } from '../log-schema.js';
import { queueSchema } from '../queue-schema.js';

const { t } = schema;

/** Header names Kong's http-log refuses in `headers` (it sets them itself). */
const RESERVED_HEADERS: Record<string, string> = {
  host: "cannot contain 'Host' header",
  'content-length': "cannot contain 'Content-Length' header",
  'content-type': "cannot contain 'Content-Type' header",
};

function endpointUserinfo(endpoint: string): boolean {
  try {
    const u = new URL(endpoint);
    return u.username !== '' || u.password !== '';
  } catch {
    return false;
  }
}

/** Kong's http-log schema (kong/plugins/http-log/schema.lua), field for field. */
const httpLogSchema = t.record(
  {
    http_endpoint: t.url({
      required: true,
      encrypted: true,
      referenceable: true,
      description:
        'The HTTP URL endpoint (including the protocol to use) to which the data is sent. User info in the URL becomes a Basic Authorization header.',
    }),
    method: t.string({
      default: 'POST',
      one_of: ['POST', 'PUT', 'PATCH'],
      description:
        'An optional method used to send data to the HTTP server. Supported values are `POST` (default), `PUT`, and `PATCH`.',
    }),
    content_type: t.string({
      default: 'application/json',
      one_of: ['application/json', 'application/json; charset=utf-8'],
      description: 'Indicates the type of data sent. The only available option is `application/json`.',
    }),
    timeout: logTimeout('An optional timeout in milliseconds when sending data to the upstream server.'),
    keepalive: logKeepalive(
      'An optional value in milliseconds that defines how long an idle connection will live before being closed.',
    ),
    retry_count: t.integer({
      between: [0, 1_000_000],
      description: 'Deprecated in Kong (no longer works; use `queue.max_retry_time`). Accepted and ignored.',
    }),
    queue_size: t.integer({
      between: [1, 1_000_000],
      description:
        'Deprecated: use `queue.max_batch_size`. When set and `queue.max_batch_size` is 1, it is the batch size.',
    }),
    flush_timeout: t.number({
      between: [0, 3600],
      description:
        'Deprecated: use `queue.max_coalescing_delay`. When set and `queue.max_coalescing_delay` is 1, it is the delay.',
    }),
    headers: t.map(
      t.headerName({
        custom_validator: (name: string) =>
          schema.typedefs.headerNameError(name) ?? RESERVED_HEADERS[name.toLowerCase()] ?? null,
      }),
      t.string({ referenceable: true }),
      {
        description:
          'An optional table of headers included in the HTTP message to the upstream server. Values are indexed by header name, and each header name accepts a single string.',
      },
    ),
    queue: queueSchema({ concurrencyLimits: [1] }),
    custom_fields_by_lua: customFieldsByLua(),
  },
  {
    custom_validator: (config: Record<string, unknown>) => {
      const headers = config.headers as Record<string, string> | null | undefined;
      if (typeof config.http_endpoint !== 'string' || headers == null) return null;
      if (!endpointUserinfo(config.http_endpoint)) return null;
      return Object.keys(headers).some((h) => h.toLowerCase() === 'authorization')
        ? "specifying both an 'Authorization' header and user info in 'http_endpoint' is not allowed"
        : null;
    },
  },
);

/** What the control plane validates and describes (the handlers are in plugin.ts). */
export const httpLogSpec = definePluginSpec({
  name: 'http-log',
  version: '1.0.0',
  priority: 12,
  schema: httpLogSchema,
});

export type HttpLogConfig = PluginConfig<typeof httpLogSpec.schema>;

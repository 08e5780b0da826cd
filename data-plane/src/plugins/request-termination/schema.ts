import * as schema from '@gatehouse/shared/schema/index';
import { definePluginSpec, type PluginConfig } from '../api.js';

const { t } = schema;

const present = (v: unknown): boolean => typeof v === 'string' && v.length > 0;

/** Kong's request-termination schema (kong/plugins/request-termination/schema.lua). */
const requestTerminationSchema = t.record(
  {
    status_code: t.integer({
      required: true,
      default: 503,
      between: [100, 599],
      description: 'The response code to send. Must be an integer between 100 and 599.',
    }),
    message: t.string({ description: 'The message to send, if using the default response generator.' }),
    content_type: t.string({
      description:
        'Content type of the raw response configured with `config.body` (default `application/json; charset=utf-8`).',
    }),
    body: t.string({
      description:
        'The raw response body to send. This is mutually exclusive with the `config.message` field.',
    }),
    echo: t.boolean({
      required: true,
      default: false,
      description:
        'When set, the plugin will echo a copy of the request back to the client. The main usecase for this is debugging. It can be combined with `trigger` in order to debug requests on live systems without disturbing real traffic.',
    }),
    trigger: t.headerName({
      description:
        'A string representing an HTTP header name (or query argument): the plugin only terminates requests carrying it.',
    }),
  },
  {
    entity_checks: [
      {
        custom_entity_check: {
          field_sources: ['message', 'content_type', 'body', 'echo'],
          fn: (c) => {
            if (present(c.message) && (present(c.content_type) || present(c.body)))
              return 'message cannot be used with content_type or body';
            if (present(c.content_type) && !present(c.body)) return 'content_type requires a body';
            if (c.echo === true && (present(c.content_type) || present(c.body)))
              return 'echo cannot be used with content_type and body';
            return null;
          },
        },
      },
    ],
  },
);

/** What the control plane validates and describes (the handlers are in plugin.ts). */
export const requestTerminationSpec = definePluginSpec({
  name: 'request-termination',
  version: '1.0.0',
  priority: 2,
  schema: requestTerminationSchema,
});

/** The validated config the handlers receive (inferred from the schema). */
export type RequestTerminationConfig = PluginConfig<typeof requestTerminationSpec.schema>;

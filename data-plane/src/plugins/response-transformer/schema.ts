import * as schema from '@gatehouse/shared/schema/index';
import { definePluginSpec, PROTOCOLS_HTTP_WS, type PluginConfig } from '../api.js';
import { splitPair } from '../request-transformer/schema.js';

const { t } = schema;

const HEADER_NAME = /^[a-zA-Z0-9_-]+$/;
const headerError = (name: string): string | null =>
  HEADER_NAME.test(name) ? null : `'${name}' is not a valid header`;

/** Kong's validate_headers for a pair: the name is a header name (and, for renames, the value too). */
const headerPair =
  (valueToo: boolean) =>
  (entry: string): string | null => {
    const { name, value } = splitPair(entry);
    return headerError(name) ?? (valueToo ? headerError(value) : null);
  };

const strings = (description: string) => t.array(t.string(), { required: true, default: [], description });
const colonStrings = (description: string, validator?: (v: string) => string | null) =>
  t.array(t.string({ match: '^[^:]+:[\\s\\S]*$', ...(validator ? { custom_validator: validator } : {}) }), {
    required: true,
    default: [],
    description,
  });
const jsonTypes = t.array(t.string({ one_of: ['boolean', 'number', 'string'] }), {
  required: true,
  default: [],
  description:
    'List of JSON type names. Specify the types of the JSON values returned when appending JSON properties. Each string element can be one of: boolean, number, or string.',
});

const valued = (verb: string) =>
  t.record(
    {
      json: colonStrings(`List of JSON property name:value pairs to ${verb}.`),
      json_types: jsonTypes,
      headers: colonStrings(`List of header name:value pairs to ${verb}.`, headerPair(false)),
    },
    { required: true },
  );

/**
 * Kong's response-transformer schema (kong/plugins/response-transformer/schema.lua), plus
 * `allow.json` from Kong's response-transformer-advanced (top-level properties only).
 */
const responseTransformerSchema = t.record(
  {
    remove: t.record(
      {
        json: strings('List of JSON property names to remove.'),
        headers: strings('List of header names to remove.'),
      },
      { required: true },
    ),
    rename: t.record(
      {
        json: colonStrings('List of JSON property old:new name pairs to rename.'),
        headers: colonStrings('List of header old:new name pairs to rename.', headerPair(true)),
      },
      { required: true },
    ),
    replace: valued('replace (only when present)'),
    add: valued('add (only when absent)'),
    append: valued('append'),
    allow: t.record(
      {
        json: t.set(t.string({ len_min: 1 }), {
          required: true,
          default: [],
          description:
            'Set of JSON property names. When not empty, only these top-level properties of the upstream body are kept (applied before the other rules).',
        }),
      },
      { required: true },
    ),
  },
  { required: true },
);

/** What the control plane validates and describes (the handlers are in plugin.ts). */
export const responseTransformerSpec = definePluginSpec({
  name: 'response-transformer',
  version: '1.0.0',
  priority: 800,
  protocols: PROTOCOLS_HTTP_WS,
  schema: responseTransformerSchema,
});

/** The validated config the handlers receive (inferred from the schema). */
export type ResponseTransformerConfig = PluginConfig<typeof responseTransformerSpec.schema>;

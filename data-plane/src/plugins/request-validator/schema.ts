import * as schema from '@gatehouse/shared/schema/index';
import { definePluginSpec, type PluginConfig } from '../api.js';
import { schemaError } from './json-schema.js';
import { mediaTypeError } from './content-type.js';

const { t } = schema;

export const PARAM_LOCATIONS = ['header', 'path', 'query'] as const;
export const PARAM_STYLES = [
  'deepObject',
  'form',
  'label',
  'matrix',
  'pipeDelimited',
  'simple',
  'spaceDelimited',
] as const;

function versionError(v: string): string | null {
  return v === 'draft4'
    ? null
    : `version '${v}' is not supported: only 'draft4' (JSON Schema draft 4) is; Kong's own 'kong' format and later drafts are not`;
}

const parameter = t.record(
  {
    in: t.string({ required: true, one_of: PARAM_LOCATIONS, description: 'The location of the parameter.' }),
    name: t.string({
      required: true,
      len_min: 1,
      description:
        'The name of the parameter (case-sensitive; for `path`, the named capture group of the route regex).',
    }),
    required: t.boolean({ required: true, description: 'Determines whether this parameter is mandatory.' }),
    style: t.string({
      one_of: PARAM_STYLES,
      description:
        'Required when `schema` and `explode` are set. How the value is deserialized (OpenAPI 3 styles).',
    }),
    explode: t.boolean({
      description:
        'Required when `schema` and `style` are set. `true`: array/object values are separate parameters.',
    }),
    schema: t.string({
      custom_validator: schemaError,
      description:
        'Required when `style` and `explode` are set. A JSON Schema draft 4 (as a string) with a top-level `type`.',
    }),
  },
  {
    entity_checks: [
      { all_or_none_of: ['style', 'explode', 'schema'] },
      {
        custom_entity_check: {
          field_sources: ['schema'],
          fn: (r) => {
            if (typeof r['schema'] !== 'string') return null;
            try {
              const s = JSON.parse(r['schema']) as { type?: unknown };
              return typeof s.type === 'string'
                ? null
                : { schema: 'parameter schema must have a top-level `type`' };
            } catch {
              return null; // the field's own check says why
            }
          },
        },
      },
    ],
  },
);

/**
 * Kong Enterprise's request-validator schema (developer.konghq.com/plugins/request-validator),
 * draft 4 only. Every schema is compiled when the config is validated, so the control plane
 * refuses a schema that does not compile, naming why.
 */
const requestValidatorSchema = t.record(
  {
    version: t.string({
      required: true,
      default: 'draft4',
      custom_validator: versionError,
      description:
        "Which validator to use: `draft4` (JSON Schema draft 4). Kong's default `kong` format is not supported.",
    }),
    body_schema: t.string({
      custom_validator: schemaError,
      description:
        'The request body schema (JSON Schema draft 4, as a string). One of `body_schema` or `parameter_schema` must be specified.',
    }),
    parameter_schema: t.array(parameter, {
      description:
        'Array of parameter validator specifications. One of `body_schema` or `parameter_schema` must be specified.',
    }),
    allowed_content_types: t.set(t.string({ custom_validator: mediaTypeError }), {
      required: true,
      default: ['application/json'],
      description:
        'List of allowed content types (checked only when `body_schema` is set). May carry parameters, e.g. `application/json; charset=UTF-8`.',
    }),
    verbose_response: t.boolean({
      required: true,
      default: false,
      description: 'If enabled, the refusal names what failed (the parameter, the JSON path and the rule).',
    }),
    content_type_parameter_validation: t.boolean({
      required: true,
      default: true,
      description: 'Whether the parameters of the request Content-Type are compared too.',
    }),
  },
  { entity_checks: [{ at_least_one_of: ['body_schema', 'parameter_schema'] }] },
);

export const requestValidatorSpec = definePluginSpec({
  name: 'request-validator',
  version: '1.0.0',
  priority: 999,
  schema: requestValidatorSchema,
});

export type RequestValidatorConfig = PluginConfig<typeof requestValidatorSpec.schema>;

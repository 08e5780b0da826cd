import * as schema from '@gatehouse/shared/schema/index';
import { definePluginSpec, type PluginConfig } from '../api.js';
import { templateError } from './template.js';

const { t } = schema;

/** Kong's split of a `name:value` entry: the name up to the first colon, the value after the colons. */
export function splitPair(entry: string): { name: string; value: string } {
  const m = /^([^:]+):*([\s\S]*)$/.exec(entry);
  return m === null ? { name: entry, value: '' } : { name: m[1]!, value: m[2]! };
}

const HEADER_NAME = /^[a-zA-Z0-9_-]+$/;
const headerError = (name: string): string | null =>
  HEADER_NAME.test(name) ? null : `'${name}' is not a valid header`;

/** Kong's check_for_value: a `name:value` entry with a value, and a template we support. */
function checkForValue(entry: string): string | null {
  const { name, value } = splitPair(entry);
  if (name === '' || value === '') return `key '${name}' has no value`;
  const err = templateError(value);
  return err === null ? null : `value '${value}' is not in supported format, error: ${err}`;
}

/** Kong's validate_headers (name only) plus the template check of the value, when there is one. */
function checkHeaderPair(entry: string): string | null {
  const { name, value } = splitPair(entry);
  const err = headerError(name);
  if (err !== null || value === '') return err;
  return templateError(value);
}

/** Kong's validate_colon_headers: both sides are header names. */
function checkHeaderRename(entry: string): string | null {
  const { name, value } = splitPair(entry);
  return headerError(name) ?? headerError(value);
}

/** An array of strings checked by `check` (Kong's arrays default to {} and are required). */
const list = (description: string, check?: (v: string) => string | null, match?: string) =>
  t.array(t.string({ custom_validator: check ?? (() => null), ...(match === undefined ? {} : { match }) }), {
    required: true,
    default: [],
    description,
  });

const names = (what: string) => list(`List of ${what} names to remove.`);
const headerNames = list('List of header names to remove.', (v: string) => headerError(splitPair(v).name));
const pairs = (what: string, verb: string) =>
  list(
    `List of ${what} name:value pairs to ${verb}. The value may be a template such as $(headers.x).`,
    checkForValue,
  );
const headerPairs = (verb: string) =>
  list(
    `List of header name:value pairs to ${verb}. The value may be a template such as $(query_params.x).`,
    checkHeaderPair,
    '^[^:]+:[\\s\\S]*$',
  );

const requestTransformerSchema = t.record(
  {
    http_method: t.string({
      len_min: 1,
      description: 'A method to use for the upstream request.',
      custom_validator: (s: string) =>
        /^[A-Z]+$/.test(s)
          ? null
          : `invalid value '${s}': the only accepted characters are uppercase letters`,
    }),
    remove: t.record(
      {
        body: names('body parameter'),
        headers: headerNames,
        querystring: names('query string parameter'),
      },
      { required: true },
    ),
    rename: t.record(
      {
        body: pairs('body parameter', 'rename (old:new)'),
        headers: list('List of header old:new name pairs to rename.', checkHeaderRename, '^[^:]+:.*$'),
        querystring: pairs('query string parameter', 'rename (old:new)'),
      },
      { required: true },
    ),
    replace: t.record(
      {
        body: pairs('body parameter', 'replace'),
        headers: headerPairs('replace'),
        querystring: pairs('query string parameter', 'replace'),
        uri: t.string({
          description: 'The path sent upstream instead of the route/service path (may be a template).',
          custom_validator: templateError,
        }),
      },
      { required: true },
    ),
    add: t.record(
      {
        body: pairs('body parameter', 'add'),
        headers: headerPairs('add'),
        querystring: pairs('query string parameter', 'add'),
      },
      { required: true },
    ),
    append: t.record(
      {
        body: pairs('body parameter', 'append'),
        headers: headerPairs('append'),
        querystring: pairs('query string parameter', 'append'),
      },
      { required: true },
    ),
  },
  { required: true },
);

/** What the control plane validates and describes (the handlers are in plugin.ts). */
export const requestTransformerSpec = definePluginSpec({
  name: 'request-transformer',
  version: '1.0.0',
  priority: 801,
  schema: requestTransformerSchema,
});

/** The validated config the handlers receive (inferred from the schema). */
export type RequestTransformerConfig = PluginConfig<typeof requestTransformerSpec.schema>;

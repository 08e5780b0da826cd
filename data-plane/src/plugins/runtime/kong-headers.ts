/**
 * Kong's reading of a request header by a configured name (`kong.request.get_headers()[name]`,
 * nginx's header table): the header of that name, case-insensitively, else, for a name with `_`,
 * the header with `-` in its place. So `api_key` finds an `api-key` header (and an `api_key` one
 * where `--underscores-in-headers` keeps it); `api-key` does not find `api_key`.
 */
import type { RequestView } from '../api.js';

export interface NamedHeader {
  /** The name of the header found (what hide_credentials removes). */
  readonly name: string;
  /** Its values, in order; empty when there is none. */
  readonly values: string[];
}

export function headerByConfiguredName(request: RequestView, name: string): NamedHeader {
  const values = request.headerValues(name);
  if (values.length > 0 || !name.includes('_')) return { name, values };
  const dashed = name.replaceAll('_', '-');
  return { name: dashed, values: request.headerValues(dashed) };
}

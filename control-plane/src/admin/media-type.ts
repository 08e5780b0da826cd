import type { Request } from 'express';

/** The request body formats the Admin API reads (Kong's: kong/api/api_helpers.lua `before_filter`). */
export type BodyFormat = 'json' | 'form' | 'multipart';

/** The format a `Content-Type` names, or undefined for one the Admin API does not read. */
export function bodyFormat(contentType: string): BodyFormat | undefined {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json' || /^application\/[^/\s]+\+json$/.test(type)) return 'json';
  if (type === 'application/x-www-form-urlencoded') return 'form';
  if (type === 'multipart/form-data') return 'multipart';
  return undefined;
}

/** A parameter of a `Content-Type` (`charset`, `boundary`), lower-cased name, unquoted value. */
export function mediaParam(contentType: string, name: string): string | undefined {
  for (const part of contentType.split(';').slice(1)) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim().toLowerCase() === name)
      return part
        .slice(eq + 1)
        .trim()
        .replace(/^"(.*)"$/, '$1');
  }
  return undefined;
}

/** The body is form fields (urlencoded or multipart): flat keys, string values, coerced per field. */
export function isFormBody(req: Request): boolean {
  const type = req.headers['content-type'];
  const format = type === undefined ? undefined : bodyFormat(type);
  return format === 'form' || format === 'multipart';
}

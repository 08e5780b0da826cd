/**
 * The Admin API's Kong-shaped error bodies (`{message, name, code, fields}`), flattened so a form
 * can show each message beside the field it names: `{config: {key_names: "…"}}` becomes
 * `config.key_names`, and an array's messages (`{paths: [null, "…"]}`) are joined under `paths`.
 */
export type FieldErrors = Record<string, string>;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly fields: FieldErrors = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

function collect(value: unknown, path: string, out: FieldErrors): void {
  if (typeof value === 'string') {
    out[path] = out[path] ? `${out[path]}; ${value}` : value;
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) collect(item, path, out);
    return;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
      if (key === '__proto__') continue;
      collect(inner, path ? `${path}.${key}` : key, out);
    }
  }
}

/** The field messages of an error body, by dotted path (`@entity` messages land under `@entity`). */
export function flattenFieldErrors(fields: unknown): FieldErrors {
  const out: FieldErrors = Object.create(null) as FieldErrors;
  collect(fields, '', out);
  return out;
}

/** An ApiError from a response status and its (possibly non-JSON) body text. */
export function apiErrorFrom(status: number, bodyText: string): ApiError {
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    return new ApiError(status, bodyText.trim() || `HTTP ${status}`);
  }
  const b = (body ?? {}) as { message?: unknown; fields?: unknown };
  const message = typeof b.message === 'string' ? b.message : `HTTP ${status}`;
  return new ApiError(status, message, flattenFieldErrors(b.fields));
}

/**
 * What to show for a failed request: the Admin API's message, marked when the signed-in role was
 * refused (403: RBAC's "<user>, you do not have permissions to <action> this resource").
 */
export function errorText(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return e instanceof ApiError && e.status === 403 ? refusalText(message) : message;
}

/** The Admin API's words on a 403, marked as a refusal of the signed-in role. */
export const refusalText = (message: string): string => `Not allowed (403): ${message}`;

/**
 * The server's validation messages beside the field they name, for Kong's entity forms (pure:
 * unit-tested; the DOM side is `use-field-errors.ts`). Kong's forms show a failed save's message
 * in one alert; the Admin API's 400 body (`{"name": "schema violation", "fields": {...}}`) says
 * which field each message is about: `{config: {minute: "…"}}`, an array's messages by element
 * (`{paths: [null, "…"]}`: the second path), entity-level ones under `@entity`. Each becomes a
 * dotted path (`config.minute`, `paths.1`, `@entity`) and the CSS selectors of the controls that
 * may set it in Kong's forms, which give their inputs `data-testid`s, `name`s and `id`s.
 */

export interface FieldMessage {
  /** Dotted path; array elements by their 0-based index (`paths.1`); `@entity` for the entity. */
  path: string;
  message: string;
}

/** Kong's entity-level messages' key. */
export const ENTITY = '@entity';

function collect(value: unknown, path: string[], out: FieldMessage[]): void {
  if (typeof value === 'string') {
    out.push({ path: path.join('.') || ENTITY, message: value });
    return;
  }
  if (Array.isArray(value)) {
    // `@entity` is a list of messages about the entity, not one per element.
    value.forEach((item, i) => collect(item, path.at(-1) === ENTITY ? path : [...path, String(i)], out));
    return;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
      if (key === '__proto__') continue;
      collect(inner, [...path, key], out);
    }
  }
}

/**
 * The field messages of an Admin API error body (Kong's `{message, name, code, fields}`), in the
 * body's order; none when it has no `fields` (a 403, a 500, a network error).
 */
export function fieldMessages(body: unknown): FieldMessage[] {
  if (typeof body !== 'object' || body === null) return [];
  const out: FieldMessage[] = [];
  collect((body as { fields?: unknown }).fields, [], out);
  return out;
}

/** The body of a failed request as Kong's forms report it (an axios error), if any. */
export function errorBody(error: unknown): unknown {
  const response = (error as { response?: { data?: unknown } } | null)?.response;
  return response?.data;
}

/** CSS attribute value, quoted. */
const q = (v: string) => `"${v.replace(/["\\]/g, '\\$&')}"`;

/**
 * How one Kong form names its controls, for the fields whose controls are not found by their own
 * name: `testidPrefix` (`route-form-`: `route-form-paths-input-1` is the first path's control) and
 * `aliases` (a field's path to the selectors of the control that sets it: a service's `host` at
 * its URL input).
 */
export interface FormControls {
  testidPrefix?: string;
  aliases?: Record<string, readonly string[]>;
}

/** The form's own selectors for `path`: its alias, then its field's (without the array index). */
function aliasSelectors(path: string, controls: FormControls): string[] {
  const field = path.replace(/\.\d+$/, '');
  return [
    ...new Set([
      ...(controls.aliases?.[path] ?? []),
      ...(field !== path ? (controls.aliases?.[field] ?? []) : []),
    ]),
  ];
}

/**
 * The selectors that may find the control setting `path`, best first: the form's aliases (for the
 * path, then for the field without its array index), then Kong's naming patterns — the
 * `data-testid` of an array element (`config-key_names-item-0`, `route-form-paths-input-1`), of the
 * field (`route-form-name`, `gateway-service-name-input`, `config-minute`), its `id` and `name`.
 */
export function controlSelectors(path: string, controls: FormControls = {}): string[] {
  if (path === ENTITY) return [];
  const segments = path.split('.');
  const last = segments.at(-1)!;
  const index = /^\d+$/.test(last) ? Number(last) : undefined;
  const field = index === undefined ? segments : segments.slice(0, -1);
  const dotted = field.join('.');
  const dashed = field.join('-');
  const prefix = controls.testidPrefix ?? '';
  const out: string[] = [...aliasSelectors(path, controls)];
  if (index !== undefined)
    out.push(
      `[data-testid=${q(`${dashed}-item-${index}`)}] input`,
      `[data-testid=${q(`${dashed}-item-${index}`)}]`,
      `[data-testid=${q(`${prefix}${dashed}-input-${index + 1}`)}]`,
    );
  out.push(
    `[data-testid=${q(`${prefix}${dashed}-input`)}]`,
    `[data-testid=${q(`${prefix}${dashed}`)}]`,
    `[data-testid=${q(dashed)}]`,
    `[id=${q(dashed)}]`,
    `[id=${q(dotted)}]`,
    `[name=${q(dotted)}]`,
    `[name=${q(dashed)}]`,
  );
  if (index !== undefined) out.push(`[data-testid=${q(`${prefix}${dashed}-input-1`)}]`);
  return [...new Set(out)];
}

/** A field's name for a person: `config.minute`, `paths (item 2)`, or "the entity". */
export function fieldLabel(path: string): string {
  if (path === ENTITY) return 'the entity';
  const m = /^(.*)\.(\d+)$/.exec(path);
  return m ? `${m[1]} (item ${Number(m[2]) + 1})` : path;
}

export interface PlacedMessage extends FieldMessage {
  /** Found through the form's aliases: the control sets more than this field (say which). */
  aliased: boolean;
}

export interface Placement<C> {
  /** Each control found, with the messages about it (several fields may share one control). */
  placed: { control: C; messages: PlacedMessage[] }[];
  /** The messages no control was found for (`@entity` among them), for one summary alert. */
  unplaced: FieldMessage[];
}

/**
 * Puts each message at the control the first of its selectors finds (`find` queries the form's
 * DOM with one selector); the rest are unplaced.
 */
export function placeMessages<C>(
  messages: readonly FieldMessage[],
  find: (selector: string) => C | null,
  controls: FormControls = {},
): Placement<C> {
  const placed: Placement<C>['placed'] = [];
  const unplaced: FieldMessage[] = [];
  for (const m of messages) {
    const selectors = controlSelectors(m.path, controls);
    const aliasCount = aliasSelectors(m.path, controls).length;
    let control: C | null = null;
    let i = 0;
    for (; i < selectors.length && control === null; i++) control = find(selectors[i]!);
    if (control === null) {
      unplaced.push(m);
      continue;
    }
    const message = { ...m, aliased: i <= aliasCount };
    const at = placed.find((p) => p.control === control);
    if (at) at.messages.push(message);
    else placed.push({ control, messages: [message] });
  }
  return { placed, unplaced };
}

/** The text beside a control: its messages, each prefixed by its field when the control sets several. */
export function messageText(messages: readonly PlacedMessage[]): string {
  return messages
    .map((m) => (messages.length > 1 || m.aliased ? `${fieldLabel(m.path)}: ${m.message}` : m.message))
    .join('; ');
}

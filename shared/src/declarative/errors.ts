import { defineError, GatehouseError, isGatehouseError } from '../errors.js';

/** One problem in a declarative document, located by its path (`services[2].routes[0].paths[1]`). */
export interface DeclarativeProblem {
  path: string;
  message: string;
  /** Set for entities/fields Gatehouse does not support (droppable with `skipUnsupported`). */
  unsupported?: boolean;
}

/** Kong's numeric code for an invalid declarative configuration (kong/db/errors.lua). */
export const KONG_DECLARATIVE_CONFIG_CODE = 14;

const codes = {
  syntax: defineError('GH_ERR_DECLARATIVE_SYNTAX', 400),
  invalid: defineError('GH_ERR_DECLARATIVE_INVALID', 400),
  unsupported: defineError('GH_ERR_DECLARATIVE_UNSUPPORTED', 400),
  unreadable: defineError('GH_ERR_DECLARATIVE_UNREADABLE', 400),
} as const;

/** "problem" lines, one per path: `services[0].host: required field missing`. */
export function formatProblems(problems: readonly DeclarativeProblem[]): string {
  return problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('\n');
}

function summary(head: string, problems: readonly DeclarativeProblem[], filename?: string): string {
  const where = filename ? `${filename}: ` : '';
  const lines = formatProblems(problems);
  return problems.length === 1 ? `${where}${head}: ${lines}` : `${where}${head}:\n${lines}`;
}

export const DeclarativeErrors = {
  /** The text is not YAML / JSON. */
  syntax(problems: DeclarativeProblem[], filename?: string): GatehouseError {
    return codes.syntax(summary('cannot parse declarative config', problems, filename), { problems });
  },
  /** The document parsed but has problems (schema, references, duplicates, unsupported entries). */
  invalid(problems: DeclarativeProblem[], filename?: string): GatehouseError {
    const onlyUnsupported = problems.every((p) => p.unsupported);
    const make = onlyUnsupported ? codes.unsupported : codes.invalid;
    const head = onlyUnsupported
      ? 'declarative config uses entities or fields Gatehouse does not support (use --skip-unsupported to drop them)'
      : 'declarative config is invalid';
    return make(summary(head, problems, filename), { problems });
  },
  unreadable(message: string, cause?: unknown): GatehouseError {
    return codes.unreadable(message, {}, { cause });
  },
} as const;

/** The located problems a declarative error carries (empty for other errors). */
export function declarativeProblems(e: unknown): DeclarativeProblem[] {
  if (!isGatehouseError(e)) return [];
  const problems = e.details?.problems;
  return Array.isArray(problems) ? (problems as DeclarativeProblem[]) : [];
}

/** Appends `.key` or `[index]` to a path. */
export function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  const safe = /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? key : JSON.stringify(key);
  return path ? `${path}.${safe}` : safe;
}

/**
 * JSON Schema draft 4 (Kong's `version: draft4`) through Ajv, compiled once per schema text and
 * hardened against hostile schemas and bodies:
 * - no remote references: nothing is ever fetched (`$ref` outside the schema fails to compile);
 * - strict schemas: an unknown keyword or format is refused at write time (a typo never silently
 *   validates nothing), OpenAPI's annotation keywords excepted;
 * - bounded schemas: at most MAX_SCHEMA_BYTES of text and MAX_SCHEMA_DEPTH levels of nesting;
 * - `pattern` / `patternProperties` regexes at most MAX_PATTERN_LENGTH long and without a
 *   quantified group that is itself quantified (`(a+)+`, the classic catastrophic backtracking);
 * - a fresh Ajv per schema (callers memoise per snapshot), so `id`s never clash across configs;
 * - the first error stops validation (`allErrors: false`): the work per request is bounded by the
 *   body, which the caller reads with a size cap.
 */
import { createRequire } from 'node:module';
import type { ErrorObject, ValidateFunction } from 'ajv';

const require = createRequire(import.meta.url);
type AjvDraft4 = typeof import('ajv-draft-04').default;

export const MAX_SCHEMA_BYTES = 64 * 1024;
export const MAX_SCHEMA_DEPTH = 32;
export const MAX_PATTERN_LENGTH = 512;

/** Annotation keywords of OpenAPI / later drafts accepted (and ignored) in strict mode. */
const ANNOTATIONS = ['example', 'examples', 'deprecated', 'readOnly', 'writeOnly', 'xml', 'externalDocs'];

/** A quantifier applied to a group whose body itself ends in, or holds, a quantifier. */
const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)(?:[+*]|\{\d+,\d*\})/;

/**
 * A validator instance. ajv loads on the first schema checked or compiled, not with the plugin
 * catalog (every data plane process loads this module at start: docs/dev/architecture.md, "Start
 * time"). ajv-draft-04 and ajv-formats are CommonJS with a default export.
 */
function newAjv(): InstanceType<AjvDraft4> {
  const AjvDraft4 = require('ajv-draft-04') as AjvDraft4;
  const addFormats = require('ajv-formats') as typeof import('ajv-formats').default;
  const ajv = new AjvDraft4({
    strictSchema: true,
    strictNumbers: true,
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    allErrors: false,
    verbose: false,
    validateFormats: true,
    // No loadSchema: a remote $ref fails to compile instead of being fetched.
    inlineRefs: true,
    code: { optimize: 1 },
  });
  addFormats(ajv);
  ajv.addVocabulary(ANNOTATIONS);
  return ajv;
}

export interface Compiled {
  readonly validate: ValidateFunction;
  /** The parsed schema (its top-level `type` drives parameter deserialization). */
  readonly schema: Record<string, unknown>;
}

function checkShape(value: unknown, depth: number): string | null {
  if (depth > MAX_SCHEMA_DEPTH) return `schema nested deeper than ${MAX_SCHEMA_DEPTH} levels`;
  if (Array.isArray(value)) {
    for (const v of value) {
      const e = checkShape(v, depth + 1);
      if (e !== null) return e;
    }
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k === 'pattern' && typeof v === 'string') {
      const e = checkPattern(v);
      if (e !== null) return e;
    }
    if (k === 'patternProperties' && typeof v === 'object' && v !== null) {
      for (const p of Object.keys(v)) {
        const e = checkPattern(p);
        if (e !== null) return e;
      }
    }
    const e = checkShape(v, depth + 1);
    if (e !== null) return e;
  }
  return null;
}

function checkPattern(p: string): string | null {
  if (p.length > MAX_PATTERN_LENGTH) return `pattern longer than ${MAX_PATTERN_LENGTH} characters`;
  if (NESTED_QUANTIFIER.test(p)) return `pattern '${p}' nests quantifiers (catastrophic backtracking)`;
  return null;
}

/**
 * Parses and compiles a draft 4 schema text: the compiled validator, or the message that says why
 * the schema is refused.
 */
export function compileSchema(text: string): Compiled | { error: string } {
  if (Buffer.byteLength(text) > MAX_SCHEMA_BYTES)
    return { error: `schema larger than ${MAX_SCHEMA_BYTES} bytes` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return { error: `schema is not valid JSON: ${(e as Error).message}` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return { error: 'schema must be a JSON object (a draft 4 schema)' };
  const shape = checkShape(parsed, 0);
  if (shape !== null) return { error: shape };
  try {
    // A fresh Ajv per schema: Ajv keeps every schema it compiled (and refuses a second schema
    // with the same `id`); callers memoise per snapshot, so nothing accumulates across snapshots.
    const ajv = newAjv();
    return { validate: ajv.compile(parsed), schema: parsed as Record<string, unknown> };
  } catch (e) {
    return { error: `invalid schema: ${(e as Error).message}` };
  }
}

/** The message a config check gives for `text`, or null when it compiles. */
export function schemaError(text: string): string | null {
  const r = compileSchema(text);
  return 'error' in r ? r.error : null;
}

/** The first error as `<path>: <message>` (path in JSON Pointer form, '/' for the root). */
export function describeError(errors: readonly ErrorObject[] | null | undefined): string {
  const e = errors?.[0];
  if (e === undefined) return 'validation failed';
  const path = e.instancePath === '' ? '/' : e.instancePath;
  const extra =
    e.keyword === 'required'
      ? ` (${String((e.params as { missingProperty?: string }).missingProperty)})`
      : e.keyword === 'additionalProperties'
        ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})`
        : '';
  return `${path}: ${e.message ?? e.keyword}${extra}`;
}

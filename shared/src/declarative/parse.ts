import { parseAllDocuments, YAMLError } from 'yaml';
import { MAX_INPUT_DEPTH, TOO_DEEP_MESSAGE } from '../schema/values.js';
import { DeclarativeErrors, type DeclarativeProblem } from './errors.js';
import { yamlNestsDeeperThan } from './yaml-depth.js';

/** A parsed declarative document: a mapping whose keys are `_format_version`, entity lists, etc. */
export type DeclarativeDocument = Record<string, unknown>;

export interface ParseOptions {
  /** Named in error messages; a `.json` name selects the JSON parser. */
  filename?: string;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    const message = (e as Error).message;
    const pos = /position (\d+)/.exec(message);
    let where = '';
    if (pos) {
      const before = text.slice(0, Number(pos[1]));
      const line = before.split('\n').length;
      const col = Number(pos[1]) - before.lastIndexOf('\n');
      where = `line ${line}, column ${col}`;
    }
    throw DeclarativeErrors.syntax([{ path: where, message: `invalid JSON: ${message}` }]);
  }
}

function parseYaml(text: string): unknown {
  // Refused before composing (which recurses per level); toConfig refuses the same depth anyway.
  if (yamlNestsDeeperThan(text, MAX_INPUT_DEPTH)) {
    throw DeclarativeErrors.syntax([{ path: '', message: `invalid YAML: ${TOO_DEEP_MESSAGE}` }]);
  }
  const docs = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true, schema: 'core' });
  const list = Array.isArray(docs) ? docs : [docs];
  const problems: DeclarativeProblem[] = [];
  for (const doc of list) {
    for (const err of doc.errors) problems.push(yamlProblem(err));
  }
  if (problems.length) throw DeclarativeErrors.syntax(problems);
  const real = list.filter((d) => d.contents !== null);
  if (real.length > 1) {
    throw DeclarativeErrors.syntax([
      { path: '', message: `expected one YAML document, found ${real.length}` },
    ]);
  }
  try {
    return real[0]?.toJS({ maxAliasCount: 1000 }) as unknown;
  } catch (e) {
    throw DeclarativeErrors.syntax([{ path: '', message: `invalid YAML: ${(e as Error).message}` }]);
  }
}

function yamlProblem(err: YAMLError): DeclarativeProblem {
  const pos = err.linePos?.[0];
  const message = err.message.replace(/ at line \d+, column \d+:?[\s\S]*$/, '');
  return { path: pos ? `line ${pos.line}, column ${pos.col}` : '', message: `invalid YAML: ${message}` };
}

/**
 * Parses a declarative file's text (YAML, or JSON — which YAML also reads; a `.json` filename or a
 * leading `{` picks the stricter JSON parser). Checks syntax and that the top level is a mapping;
 * the content is checked by `toConfig`. Throws GH_ERR_DECLARATIVE_SYNTAX naming line and column.
 */
export function parseDeclarative(text: string, options: ParseOptions = {}): DeclarativeDocument {
  const { filename } = options;
  let value: unknown;
  try {
    const trimmed = text.trimStart();
    value =
      filename?.toLowerCase().endsWith('.json') || trimmed.startsWith('{')
        ? parseJson(text)
        : parseYaml(text);
  } catch (e) {
    const problems = (e as { details?: { problems?: DeclarativeProblem[] } }).details?.problems;
    if (problems && filename) throw DeclarativeErrors.syntax(problems, filename);
    throw e;
  }
  if (value === null || value === undefined) {
    throw DeclarativeErrors.syntax([{ path: '', message: 'the document is empty' }], filename);
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw DeclarativeErrors.syntax(
      [{ path: '', message: 'expected a mapping at the top level (with _format_version: "3.0")' }],
      filename,
    );
  }
  return value as DeclarativeDocument;
}

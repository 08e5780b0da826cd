/**
 * Masks a JSON document: the configured selectors first (each reached value masked whole), then
 * the detectors over every string left (each detected item masked inside its string).
 */
import { applySelector, setOwn, type Selector } from './selectors.js';
import { maskValue } from './mask.js';

export type Scanner = (s: string, mask: (item: string) => string) => string;

export interface JsonMasker {
  readonly selectors: readonly Selector[];
  readonly scan: Scanner | null;
  readonly mask: (s: string) => string;
}

/** True when the masker would do something to a body. */
export function masksBodies(m: JsonMasker): boolean {
  return m.selectors.length > 0 || m.scan !== null;
}

function scanAll(node: unknown, scan: Scanner, mask: (s: string) => string, depth: number): unknown {
  if (typeof node === 'string') return scan(node, mask);
  if (typeof node !== 'object' || node === null) return node;
  if (depth > 10_000) throw new RangeError('JSON nested too deeply to mask');
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) node[i] = scanAll(node[i], scan, mask, depth + 1);
    return node;
  }
  const o = node as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    const v = o[k];
    const next = scanAll(v, scan, mask, depth + 1);
    if (next !== v) setOwn(o, k, next);
  }
  return node;
}

/** The masked document (the input may be changed in place). */
export function maskJson(doc: unknown, m: JsonMasker): unknown {
  let out = doc;
  const whole = (v: unknown) => maskValue(v, m.mask);
  for (const s of m.selectors) out = applySelector(out, s, whole);
  if (m.scan !== null) out = scanAll(out, m.scan, m.mask, 0);
  return out;
}

/**
 * Masks the JSON text in `body`: the new bytes, or null when the body is not JSON (it passes
 * untouched). Throws only for a document nested too deeply to walk.
 */
export function maskJsonBody(body: Buffer, m: JsonMasker): Buffer | null {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
  return Buffer.from(JSON.stringify(maskJson(doc, m)) ?? 'null');
}

/**
 * What a data plane says about where it runs: its region and labels (`--region`, `--label k=v`).
 * Validated on the DP at start and again by the CP at Hello, with the same rules, so a slice key
 * built from them is always a safe, unambiguous string (letters, digits, `.`, `_`, `-`; a NATS KV
 * key and a Kong tag both accept it).
 */

/** Most labels a data plane may carry. */
export const MAX_LABELS = 16;
/** Longest region, label key or label value (Kubernetes' label name length). */
export const MAX_NAME_LENGTH = 63;

const NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;

/** A data plane's place in the fleet. `region` '' = none. */
export interface NodePlacement {
  region: string;
  labels: Readonly<Record<string, string>>;
}

function nameError(what: string, s: string): string | null {
  if (s.length === 0) return `${what} must not be empty`;
  if (s.length > MAX_NAME_LENGTH) return `${what} must be at most ${MAX_NAME_LENGTH} characters`;
  if (!NAME.test(s) || s.includes('..'))
    return `${what} '${s}' must be letters, digits, '.', '_' or '-', starting and ending with a letter or digit`;
  return null;
}

/** Why a region is invalid, or null. */
export function regionError(region: string): string | null {
  return nameError('region', region);
}

/** Why a label key or value is invalid, or null. */
export function labelError(key: string, value: string): string | null {
  return nameError('label key', key) ?? nameError(`label '${key}' value`, value);
}

/** Why a set of labels is invalid, or null. */
export function labelsError(labels: Readonly<Record<string, string>>): string | null {
  const entries = Object.entries(labels);
  if (entries.length > MAX_LABELS) return `at most ${MAX_LABELS} labels, got ${entries.length}`;
  for (const [k, v] of entries) {
    const e = labelError(k, v);
    if (e) return e;
  }
  return null;
}

/** Why a placement is invalid (region '' is none), or null. */
export function placementError(p: NodePlacement): string | null {
  return (p.region === '' ? null : regionError(p.region)) ?? labelsError(p.labels);
}

/** `key=value` (the `--label` flag, the `label` filter) -> a pair, or the reason it is not one. */
export function parseLabel(text: string): { key: string; value: string } | { error: string } {
  const eq = text.indexOf('=');
  if (eq < 0) return { error: `label '${text}' must be key=value` };
  const key = text.slice(0, eq);
  const value = text.slice(eq + 1);
  const e = labelError(key, value);
  return e ? { error: e } : { key, value };
}

// The flags of `gatehouse dev` that shape a fleet, parsed and checked: each parser answers
// { value } or { problem } (a sentence naming what is wrong), never throws.

/** Most control planes / data planes one `gatehouse dev` starts (a fleet on one machine). */
export const MAX_CONTROL_PLANES = 9;
export const MAX_DATA_PLANES = 32;
/** A region name: it is part of NATS subjects (gatehouse.ratelimit.<region>) and of DP ids. */
export const REGION = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;

const COUNT = /^[1-9]\d{0,2}$/;

/** `--control-planes <n>`: 1 to MAX_CONTROL_PLANES. */
export function parseControlPlaneCount(text) {
  const t = String(text).trim();
  if (!COUNT.test(t) || Number(t) > MAX_CONTROL_PLANES)
    return { problem: `must be a whole number from 1 to ${MAX_CONTROL_PLANES}, got "${text}"` };
  return { value: Number(t) };
}

/**
 * `--data-planes region=count[,region=count...]` (e.g. `eu=2,us=1`): regions in the order given,
 * each once, lower-case letters, digits and dashes; counts from 1, MAX_DATA_PLANES in all.
 */
export function parseDataPlanes(text) {
  const parts = String(text)
    .split(',')
    .map((p) => p.trim());
  const value = [];
  const seen = new Set();
  let total = 0;
  for (const part of parts) {
    if (part === '') return { problem: 'an empty entry in the list; give region=count[,region=count...]' };
    const eq = part.indexOf('=');
    if (eq < 0) return { problem: `"${part}" is not region=count (e.g. eu=2)` };
    const region = part.slice(0, eq).trim();
    const count = part.slice(eq + 1).trim();
    if (!REGION.test(region))
      return {
        problem: `region "${region}" must be 1-32 lower-case letters, digits or dashes, not starting or ending with a dash`,
      };
    if (seen.has(region)) return { problem: `region "${region}" is given twice` };
    seen.add(region);
    if (!COUNT.test(count))
      return { problem: `the count of region "${region}" must be a whole number from 1, got "${count}"` };
    total += Number(count);
    if (total > MAX_DATA_PLANES) return { problem: `at most ${MAX_DATA_PLANES} data planes in all` };
    value.push({ region, count: Number(count) });
  }
  return { value };
}

/** A port flag: 1-65535, or 0 in a fleet (any free port, picked at start). */
export function parsePort(text, { allowZero }) {
  const t = String(text);
  const min = allowZero ? 0 : 1;
  if (!/^\d{1,5}$/.test(t) || Number(t) < min || Number(t) > 65535)
    return { problem: `must be a port ${min}-65535, got "${t}"` };
  return { value: Number(t) };
}

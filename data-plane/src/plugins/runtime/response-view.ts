/**
 * The response as the response and log phases see it: status, the headers (the upstream's, or a
 * short-circuit's, or the error table's) with what plugins set or removed so far, and the body
 * when it was buffered. One object per response, reading the header array in place.
 */
import type { HeaderValue, ResponseView } from '../api.js';

/** Plugins' response header changes: lower-case name -> the name as set and its value (null = removed). */
export type ResponseHeaderOps = Map<string, { name: string; value: HeaderValue | null }>;

function valuesOf(value: HeaderValue): string[] {
  return typeof value === 'string' ? [value] : [...value];
}

export class PluginResponse implements ResponseView {
  constructor(
    readonly status: number,
    /** Flat [name, value, …] array as it will be written (before plugins' changes). */
    private readonly headers: readonly string[],
    /** The request's changes (read live, so later plugins see earlier ones). */
    private readonly ops: () => ResponseHeaderOps | null,
    public body: Buffer | null,
    /** The upstream's trailers as a flat [name, value, …] array (lower-case names), or null. */
    private readonly trailers: readonly string[] | null = null,
  ) {}

  trailer(name: string): string | undefined {
    const t = this.trailers;
    if (t === null) return undefined;
    const lower = name.toLowerCase();
    for (let i = 0; i < t.length; i += 2) if (t[i] === lower) return t[i + 1];
    return undefined;
  }

  header(name: string): string | undefined {
    const lower = name.toLowerCase();
    const op = this.ops()?.get(lower);
    if (op !== undefined) {
      if (op.value === null) return undefined;
      return typeof op.value === 'string' ? op.value : op.value[0];
    }
    const h = this.headers;
    for (let i = 0; i < h.length; i += 2) if (h[i]!.toLowerCase() === lower) return h[i + 1];
    return undefined;
  }

  headerValues(name: string): string[] {
    const lower = name.toLowerCase();
    const op = this.ops()?.get(lower);
    if (op !== undefined) return op.value === null ? [] : valuesOf(op.value);
    const out: string[] = [];
    const h = this.headers;
    for (let i = 0; i < h.length; i += 2) if (h[i]!.toLowerCase() === lower) out.push(h[i + 1]!);
    return out;
  }

  headerPairs(): [string, string][] {
    const ops = this.ops();
    const out: [string, string][] = [];
    const h = this.headers;
    for (let i = 0; i < h.length; i += 2) {
      if (ops === null || !ops.has(h[i]!.toLowerCase())) out.push([h[i]!, h[i + 1]!]);
    }
    if (ops !== null)
      for (const { name, value } of ops.values())
        if (value !== null) for (const v of valuesOf(value)) out.push([name, v]);
    return out;
  }
}

/** A response view with no headers (the log phase of a request answered outside the chain). */
export function bareResponse(status: number): PluginResponse {
  return new PluginResponse(status, [], () => null, null);
}

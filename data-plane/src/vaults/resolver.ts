/**
 * The data plane's secret cache: a reference's value is read from its backend when first needed
 * and again when its `ttl` has passed (Kong's vault `ttl`, `neg_ttl`, `resurrect_ttl`, from the
 * vault entity's config, overridden by the reference's query). Reads happen in `refresh`, off the
 * request path; `lookup` only reads the cache. The clock is injected (seconds).
 *
 * - a value is kept `ttl` seconds (0 or unset: until the configuration changes);
 * - a miss or a backend failure is kept `neg_ttl` seconds (0 or unset: retried at the next refresh);
 * - when a due read fails, the last value stays in use up to `resurrect_ttl` seconds past its ttl.
 *
 * Errors name the reference, never a value.
 */
import * as schema from '@gatehouse/shared/schema/index';
import { parseReference } from '@gatehouse/shared/vaults/reference';
import { VAULT_BACKENDS } from '@gatehouse/shared/entities/vault';
import type { Vault } from '@gatehouse/shared/config/model';
import type { VaultBackend } from './backend.js';

export type Resolution = { readonly value: string } | { readonly error: string };

interface Target {
  readonly backend: VaultBackend;
  readonly config: Readonly<Record<string, unknown>>;
  readonly resource: string;
  readonly key: string | null;
  readonly version: number | null;
}

interface Entry {
  result: Resolution;
  /** When a read is due (seconds; Infinity: never). */
  dueAt: number;
  /** The last value read, and until when it may stand in for a failed read. */
  good: { readonly value: string; readonly until: number } | null;
}

export interface VaultResolverOptions {
  readonly backends: readonly VaultBackend[];
  /** Seconds (default: the wall clock). */
  readonly now?: () => number;
}

const num = (v: unknown): number => (typeof v === 'number' && v > 0 ? v : 0);

/** The vault a reference names and its effective config, or why there is none. */
function targetOf(
  reference: string,
  vaults: readonly Vault[],
  backends: ReadonlyMap<string, VaultBackend>,
): { target: Target; key: string } | { error: string; key: string } {
  const parsed = parseReference(reference);
  if (!parsed.ok) return { error: parsed.error, key: reference };
  const ref = parsed.reference;
  const vault = vaults.find((v) => v.prefix === ref.prefix);
  const name = vault?.name ?? ref.prefix;
  const backend = backends.get(name);
  const configSchema = Object.hasOwn(VAULT_BACKENDS, name) ? VAULT_BACKENDS[name] : undefined;
  if (
    backend === undefined ||
    configSchema === undefined ||
    (vault === undefined && !backends.has(ref.prefix))
  )
    return { error: `could not find vault (${ref.prefix})`, key: reference };
  // The query's values are strings; the schema's numbers are read as numbers.
  const merged: Record<string, unknown> = { ...(vault?.config ?? {}) };
  for (const [k, v] of Object.entries(ref.config)) {
    const f = Object.hasOwn(configSchema.fields, k) ? configSchema.fields[k] : undefined;
    const value = f?.type === 'number' || f?.type === 'integer' ? Number(v) : v;
    Object.defineProperty(merged, k, { value, enumerable: true, writable: true, configurable: true });
  }
  const checked = schema.check<Record<string, unknown>>(configSchema, merged, { rules: 'entity' });
  if (checked.errors !== null)
    return { error: `invalid vault config (${JSON.stringify(checked.errors)})`, key: reference };
  const target: Target = {
    backend,
    config: checked.value,
    resource: ref.resource,
    key: ref.key,
    version: ref.version,
  };
  return { target, key: `${reference}\n${name}\n${JSON.stringify(checked.value)}` };
}

/** Kong's JSON secrets: `{vault://env/db/password}` reads field `password` of the JSON in DB. */
function subfield(value: string, key: string): Resolution {
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    return { error: 'could not get subfield value: unable to json decode value' };
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json) || !Object.hasOwn(json, key))
    return { error: `could not get subfield value: subfield ${key} not found in JSON secret` };
  const v = (json as Record<string, unknown>)[key];
  if (typeof v !== 'string')
    return {
      error: `could not get subfield value: unexpected ${typeof v} value in JSON secret for subfield ${key}`,
    };
  return { value: v };
}

export class VaultResolver {
  private readonly backends: ReadonlyMap<string, VaultBackend>;
  private readonly now: () => number;
  private readonly cache = new Map<string, Entry>();
  private readonly reading = new Map<string, Promise<boolean>>();

  constructor(options: VaultResolverOptions) {
    this.backends = new Map(options.backends.map((b) => [b.name, b]));
    this.now = options.now ?? (() => Date.now() / 1000);
  }

  /** The cached resolution of `reference` under `vaults` (undefined: not read yet). */
  lookup(reference: string, vaults: readonly Vault[]): Resolution | undefined {
    const t = targetOf(reference, vaults, this.backends);
    if ('error' in t) return { error: t.error };
    return this.cache.get(t.key)?.result;
  }

  /** Seconds until the next read among `references` is due (0: now; Infinity: none). */
  nextDue(references: Iterable<string>, vaults: readonly Vault[]): number {
    const now = this.now();
    let next = Infinity;
    for (const r of references) {
      const t = targetOf(r, vaults, this.backends);
      if ('error' in t) continue;
      const e = this.cache.get(t.key);
      next = Math.min(next, e === undefined ? 0 : Math.max(0, e.dueAt - now));
    }
    return next;
  }

  /**
   * Reads every reference that was never read or is due; true when a resolution changed. Keeps
   * only the entries of `references` (a new configuration drops the old ones).
   */
  async refresh(references: Iterable<string>, vaults: readonly Vault[]): Promise<boolean> {
    const keep = new Set<string>();
    const reads: Promise<boolean>[] = [];
    const now = this.now();
    for (const r of new Set(references)) {
      const t = targetOf(r, vaults, this.backends);
      if ('error' in t) continue;
      keep.add(t.key);
      const e = this.cache.get(t.key);
      if (e !== undefined && now < e.dueAt) continue;
      reads.push(this.read(t.key, t.target));
    }
    const changed = (await Promise.all(reads)).some(Boolean);
    for (const k of [...this.cache.keys()]) if (!keep.has(k)) this.cache.delete(k);
    return changed;
  }

  private read(key: string, target: Target): Promise<boolean> {
    let p = this.reading.get(key);
    if (p === undefined) {
      p = this.readOnce(key, target).finally(() => this.reading.delete(key));
      this.reading.set(key, p);
    }
    return p;
  }

  private async readOnce(key: string, t: Target): Promise<boolean> {
    let got: Resolution;
    try {
      const raw = await t.backend.get(t.config, t.resource, t.version);
      got =
        raw === null ? { error: 'no value found' } : t.key === null ? { value: raw } : subfield(raw, t.key);
    } catch (e) {
      got = { error: `could not get value from vault (${(e as Error).message})` };
    }
    const now = this.now();
    const ttl = num(t.config.ttl);
    const prev = this.cache.get(key);
    let next: Entry;
    if ('value' in got) {
      const until = ttl > 0 ? now + ttl + num(t.config.resurrect_ttl) : Infinity;
      next = { result: got, dueAt: ttl > 0 ? now + ttl : Infinity, good: { value: got.value, until } };
    } else if (prev?.good != null && now < prev.good.until) {
      // Resurrected: the last value stands in while the vault fails, retried every neg_ttl.
      next = {
        result: { value: prev.good.value },
        dueAt: Math.min(now + num(t.config.neg_ttl), prev.good.until),
        good: prev.good,
      };
    } else {
      next = { result: got, dueAt: now + num(t.config.neg_ttl), good: null };
    }
    this.cache.set(key, next);
    return prev === undefined || !sameResult(prev.result, next.result);
  }
}

function sameResult(a: Resolution, b: Resolution): boolean {
  return 'value' in a ? 'value' in b && a.value === b.value : 'error' in b && a.error === b.error;
}

/**
 * CRLs downloaded from distribution points, per worker: one download per URL at a time, the
 * result (a parsed CRL or the reason there is none) kept `cert_cache_ttl` milliseconds, so a
 * distribution point that is down is not asked on every request. Bounded (least recently used
 * URLs go first) and bodies are capped, so a hostile distribution point cannot fill memory.
 */
import { LRUCache } from 'lru-cache';
import { Agent, request } from 'undici';
import { parseCrl, type Crl } from './crl.js';

/** The largest CRL downloaded (bytes). */
export const MAX_CRL_BYTES = 16 * 1024 * 1024;
const MAX_URLS = 1_000;

export type CrlResult = { readonly crl: Crl } | { readonly error: string };

interface Entry {
  readonly fetchedAt: number;
  readonly result: CrlResult;
}

export interface CrlFetchOptions {
  /** Milliseconds a download may take. */
  readonly timeoutMs: number;
  /** Milliseconds a result is kept. */
  readonly ttlMs: number;
  /** Verify an https distribution point's certificate. */
  readonly sslVerify: boolean;
}

const verifying = new Agent({ connect: { rejectUnauthorized: true } });
const trusting = new Agent({ connect: { rejectUnauthorized: false } });

async function download(url: string, options: CrlFetchOptions): Promise<CrlResult> {
  try {
    const res = await request(url, {
      method: 'GET',
      dispatcher: options.sslVerify ? verifying : trusting,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      signal: AbortSignal.timeout(options.timeoutMs),
      maxRedirections: 0,
    } as Parameters<typeof request>[1]);
    if (res.statusCode !== 200) {
      await res.body.dump();
      return { error: `CRL download answered ${res.statusCode}` };
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_CRL_BYTES) {
        res.body.destroy();
        return { error: `CRL larger than ${MAX_CRL_BYTES} bytes` };
      }
      chunks.push(chunk as Buffer);
    }
    return { crl: parseCrl(Buffer.concat(chunks)) };
  } catch (e) {
    return { error: `CRL download failed: ${(e as Error).message}` };
  }
}

export class CrlCache {
  private readonly entries = new LRUCache<string, Entry>({ max: MAX_URLS });
  private readonly pending = new Map<string, Promise<CrlResult>>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The CRL at `url`: from the cache while fresh, else downloaded (once for concurrent callers). */
  get(url: string, options: CrlFetchOptions): Promise<CrlResult> {
    const entry = this.entries.get(url);
    if (entry !== undefined && this.now() - entry.fetchedAt < options.ttlMs)
      return Promise.resolve(entry.result);
    const running = this.pending.get(url);
    if (running !== undefined) return running;
    const p = download(url, options).then((result) => {
      this.entries.set(url, { fetchedAt: this.now(), result });
      this.pending.delete(url);
      return result;
    });
    this.pending.set(url, p);
    return p;
  }
}

/** The worker's CRL cache (CRLs do not depend on the configuration: kept across snapshots). */
export const CRL_CACHE = new CrlCache();

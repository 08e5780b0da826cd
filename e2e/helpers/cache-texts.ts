import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';

/** A DP's cache file and every gzip stream inside it, inflated (the snapshot's config bytes). */
export function cacheTexts(dataDir: string): { raw: Buffer; inflated: Buffer } {
  const raw = readFileSync(join(dataDir, 'snapshot.pb'));
  const parts: Buffer[] = [];
  for (let i = raw.indexOf(0x1f); i >= 0 && i < raw.length - 1; i = raw.indexOf(0x1f, i + 1)) {
    if (raw[i + 1] !== 0x8b) continue;
    try {
      parts.push(
        inflateRawSync(raw.subarray(i + 10)) /* past the 10-byte gzip header; stops at the stream's end */,
      );
    } catch {
      // not a gzip stream at this offset
    }
  }
  return { raw, inflated: Buffer.concat(parts) };
}

/**
 * What a data plane's log says about the configs it was offered: the "config applied" and
 * "config refused" lines (data-plane/src/sync/snapshot-applier.ts), read from its output.
 */
export interface ConfigLine {
  version: string;
  hash: string;
  kid: string | null;
  source: string;
  /** A refusal's error code (GH_ERR_SNAPSHOT_…); null for an apply. */
  code: string | null;
  reason: string | null;
}

function lines(output: string, msg: string, from: number): ConfigLine[] {
  const out: ConfigLine[] = [];
  for (const line of output.slice(from).split('\n')) {
    if (!line.includes(`"msg":"${msg}"`)) continue;
    try {
      const j = JSON.parse(line) as Record<string, unknown>;
      const str = (v: unknown) => (typeof v === 'string' ? v : null);
      out.push({
        version: str(j.version) ?? '',
        hash: str(j.hash) ?? '',
        kid: str(j.kid),
        source: str(j.source) ?? '',
        code: str(j.code),
        reason: str(j.reason),
      });
    } catch {
      // a line cut by the end of the output so far
    }
  }
  return out;
}

/** Configs the DP applied (every worker serves them) after `from` characters of its output. */
export const appliedConfigs = (output: string, from = 0): ConfigLine[] =>
  lines(output, 'config applied', from);

/** Configs the DP refused after `from` characters of its output. */
export const refusedConfigs = (output: string, from = 0): ConfigLine[] =>
  lines(output, 'config refused', from);

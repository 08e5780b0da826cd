/** Version compatibility and peer-address parsing for the cluster server. */

/**
 * Kong's rule: a DP may connect when its major version equals the CP's and its minor is not
 * newer (an older DP can apply what a newer CP sends; a newer one may expect what the CP lacks).
 * Returns null when compatible, else the reason.
 */
export function versionIncompatibility(cpVersion: string, dpVersion: string): string | null {
  const cp = /^(\d+)\.(\d+)\.\d+/.exec(cpVersion);
  const dp = /^(\d+)\.(\d+)\.\d+/.exec(dpVersion);
  if (!dp) return `data plane version "${dpVersion}" is not a semantic version`;
  if (!cp) return `control plane version "${cpVersion}" is not a semantic version`;
  if (dp[1] !== cp[1]) return `data plane major version ${dp[1]} differs from the control plane's ${cp[1]}`;
  if (Number(dp[2]) > Number(cp[2])) {
    return `data plane version ${dpVersion} is newer than the control plane's ${cpVersion}`;
  }
  return null;
}

/** grpc-js peer strings ("1.2.3.4:5", "[::1]:5", "ipv4:1.2.3.4:5") -> the bare IP. */
export function peerIp(peer: string): string {
  let s = peer.replace(/^ipv[46]:/, '');
  const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(s);
  if (bracket) s = bracket[1]!;
  else if (/^[^:]+:\d+$/.test(s)) s = s.slice(0, s.lastIndexOf(':'));
  return s.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
}

/**
 * Compatibility between the control plane and a data plane, as Kong's hybrid mode
 * (kong/clustering/compat): the software version at Hello, then, for every snapshot, the
 * plugins that snapshot uses against the plugins the DP said it has.
 */
import type { GatehouseConfig } from '@gatehouse/shared';

export interface PluginInfo {
  name: string;
  version: string;
}

/** Kong's sync_status values for a refusal. */
export type IncompatibleStatus =
  'kong_version_incompatible' | 'plugin_set_incompatible' | 'plugin_version_incompatible';

export interface Incompatibility {
  status: IncompatibleStatus;
  reason: string;
}

const MAJOR_MINOR = /^(\d+)\.(\d+)(?:\.\d+)?/;

function majorMinor(version: string): [number, number] | null {
  const m = MAJOR_MINOR.exec(version);
  return m ? [Number(m[1]), Number(m[2])] : null;
}

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

/** The plugin names a config uses (every plugin entity, enabled or not, as Kong), sorted. */
export function pluginsConfigured(config: Pick<GatehouseConfig, 'plugins'>): string[] {
  return [...new Set((config.plugins ?? []).map((p) => p.name))].sort();
}

/**
 * Kong's check_configuration_compatibility for one plugin: the DP must have it
 * (`plugin_set_incompatible`); when both sides know its version, the majors must be equal and
 * the DP's minor not newer than the CP's (`plugin_version_incompatible`). A version that is not
 * `major.minor[.patch]` on either side is not compared (Kong: "unspecified version").
 */
export function pluginIncompatibility(
  name: string,
  cpVersion: string | undefined,
  dpPlugins: ReadonlyMap<string, string>,
): Incompatibility | null {
  const dpVersion = dpPlugins.get(name);
  if (dpVersion === undefined) {
    return {
      status: 'plugin_set_incompatible',
      reason: cpVersion
        ? `configured ${name} plugin ${cpVersion} is missing from data plane`
        : `configured ${name} plugin is missing from data plane`,
    };
  }
  if (!cpVersion) return null;
  const cp = majorMinor(cpVersion);
  const dp = majorMinor(dpVersion);
  if (!cp || !dp) return null;
  if (cp[0] !== dp[0] || cp[1] < dp[1]) {
    return {
      status: 'plugin_version_incompatible',
      reason: `configured data plane ${name} plugin version ${dpVersion} is different to control plane plugin version ${cpVersion}`,
    };
  }
  return null;
}

/** The first incompatibility (plugins in name order) between the plugins a snapshot uses and a DP. */
export function configIncompatibility(
  configured: readonly string[],
  cpPlugins: ReadonlyMap<string, string>,
  dpPlugins: ReadonlyMap<string, string>,
): Incompatibility | null {
  for (const name of configured) {
    const found = pluginIncompatibility(name, cpPlugins.get(name), dpPlugins);
    if (found) return found;
  }
  return null;
}

/** name -> version. A plugin listed twice keeps its first version. */
export function pluginMap(plugins: readonly PluginInfo[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of plugins) if (!out.has(p.name)) out.set(p.name, p.version);
  return out;
}

/** grpc-js peer strings ("1.2.3.4:5", "[::1]:5", "ipv4:1.2.3.4:5") -> the bare IP. */
export function peerIp(peer: string): string {
  let s = peer.replace(/^ipv[46]:/, '');
  const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(s);
  if (bracket) s = bracket[1]!;
  else if (/^[^:]+:\d+$/.test(s)) s = s.slice(0, s.lastIndexOf(':'));
  return s.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
}

/**
 * The fleet check the Admin API runs before saving a plugin: which connected data planes (on any
 * CP replica: the registry's rows, connected and seen recently) could not run it, by Kong's
 * plugin rules (missing -> plugin_set_incompatible; other major, or a newer minor on the DP ->
 * plugin_version_incompatible). Saving is still allowed (as Kong): those DPs keep their previous
 * config and `/clustering/data-planes` shows why.
 *
 * Slices: a plugin reaches only the DPs whose slice holds it (its scope tags, and those of the
 * service or route it is attached to: an entity out of a DP's slice takes what refers
 * to it along, slices.ts), so the caller passes those scopes and only DPs inside every one are
 * checked.
 */
import { inScope, scopeOf } from '@gatehouse/shared';
import { pluginIncompatibility, pluginMap, type IncompatibleStatus, type PluginInfo } from './compat.js';
import type { DataPlaneRegistry } from './registry.js';

export interface IncompatibleDataPlane {
  id: string;
  hostname: string;
  reason: string;
  sync_status: IncompatibleStatus;
}

export interface PluginCheck {
  incompatible: IncompatibleDataPlane[];
}

export interface Fleet {
  /**
   * The connected DPs that could not take a config using plugin `name` at `version` (default:
   * the CP's own version of it, when the fleet was given the CP's plugins).
   */
  checkPlugin(name: string, version?: string, reach?: PluginReach): Promise<PluginCheck>;
}

/**
 * Where a plugin goes: the tags of the plugin and of each entity it is attached to (service,
 * route, the route's service). A DP outside any of their scopes does not get it; an
 * invalid reserved tag sends it nowhere (as slices do).
 */
export interface PluginReach {
  tags: readonly (readonly string[] | null | undefined)[];
}

export interface FleetOptions {
  registry: DataPlaneRegistry;
  /** The CP's plugins (`pluginInfos()`), so `checkPlugin(name)` knows the version to compare. */
  cpPlugins?: PluginInfo[];
}

export class DataPlaneFleet implements Fleet {
  private readonly cpPlugins: ReadonlyMap<string, string>;

  constructor(private readonly o: FleetOptions) {
    this.cpPlugins = pluginMap(o.cpPlugins ?? []);
  }

  async checkPlugin(name: string, version?: string, reach?: PluginReach): Promise<PluginCheck> {
    const cpVersion = version ?? this.cpPlugins.get(name);
    const incompatible: IncompatibleDataPlane[] = [];
    const scopes = (reach?.tags ?? []).map((t) => scopeOf(t)).filter((s) => s !== null);
    for (const dp of await this.o.registry.listConnected()) {
      const placement = { region: dp.region ?? '', labels: dp.labels };
      if (scopes.some((s) => s === 'invalid' || !inScope(s, placement))) continue;
      const found = pluginIncompatibility(name, cpVersion, pluginMap(dp.plugins));
      if (found)
        incompatible.push({
          id: dp.id,
          hostname: dp.hostname,
          reason: found.reason,
          sync_status: found.status,
        });
    }
    return { incompatible };
  }
}

export function createFleet(o: FleetOptions): Fleet {
  return new DataPlaneFleet(o);
}

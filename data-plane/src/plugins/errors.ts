import { defineError } from '@gatehouse/shared/errors';

/** Plugin loading and runtime errors (codes listed in docs/errors.md). */
export const PluginErrors = {
  /** A custom plugin directory or module could not be loaded, or defines a clashing name. */
  loadFailed: defineError('GH_ERR_PLUGIN_LOAD_FAILED', 500),
  /** A snapshot uses a plugin this node does not have (the snapshot is refused). */
  unknown: defineError('GH_ERR_PLUGIN_UNKNOWN', 400),
  /** A plugin's `init` or config failed while applying a snapshot (the snapshot is refused). */
  initFailed: defineError('GH_ERR_PLUGIN_INIT_FAILED', 400),
  /** A request body larger than a plugin's read limit. */
  bodyTooLarge: defineError('GH_ERR_PLUGIN_BODY_TOO_LARGE', 413),
} as const;

/** Code sent in `x-gatehouse-error-code` when a phase handler throws (the client gets a 500). */
export const HANDLER_FAILED = 'GH_ERR_PLUGIN_HANDLER_FAILED';

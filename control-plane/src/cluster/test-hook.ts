/**
 * Loads the chaos suite's test-only snapshot hook (`control-plane/src/testing/snapshot-hook.ts`,
 * docs/chaos.md "The snapshot hook"): a loopback endpoint through which a chaos row makes this CP
 * write tampered, replayed, wrongly signed, schema-invalid or oversized snapshots to its DPs.
 *
 * The hook is compiled out of production builds: `tsconfig.build.json` leaves `src/testing/` out
 * of `dist/`, and nothing imports it statically (the specifier below is a variable, so the compiler
 * does not follow it). It is loaded only when GATEHOUSE_TEST_SNAPSHOT_HOOK names a loopback
 * `host:port`; a built CP given that variable refuses to start (GH_ERR_CONFIG_INVALID_SETTING)
 * rather than run without what the operator asked for. Only a CP run from its sources (the chaos
 * suite runs it with tsx) has the module.
 */
import type { Logger, SigningKey } from '@gatehouse/shared';
import { ConfigErrors } from '@gatehouse/shared';
import type { SnapshotFeed } from './server.js';
import type { StreamTap } from './session.js';

export const SNAPSHOT_HOOK_ENV = 'GATEHOUSE_TEST_SNAPSHOT_HOOK';

/** What the hook works with: the snapshots published, the key the CP signs with, its id. */
export interface SnapshotHookDeps {
  publisher: Pick<SnapshotFeed, 'on' | 'off'>;
  key: SigningKey;
  cpId: string;
  logger: Logger;
}

export interface SnapshotHook {
  readonly tap: StreamTap;
  /** host:port of its control endpoint. */
  readonly address: string;
  close(): Promise<void>;
}

/** The shape of `src/testing/snapshot-hook.ts`. */
export interface SnapshotHookModule {
  startSnapshotHook(listen: { host: string; port: number }, deps: SnapshotHookDeps): Promise<SnapshotHook>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** The hook's listen address from the variable; throws on anything but a loopback host:port. */
export function parseHookListen(value: string): { host: string; port: number } {
  const at = value.lastIndexOf(':');
  const host = at > 0 ? value.slice(0, at) : '';
  const port = Number(value.slice(at + 1));
  if (!LOOPBACK.has(host) || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw ConfigErrors.invalidSetting(
      `${SNAPSHOT_HOOK_ENV} must be a loopback host:port (127.0.0.1:PORT), got "${value.slice(0, 100)}"`,
    );
  }
  return { host: host.replace(/^\[|\]$/g, ''), port };
}

/**
 * The hook module and its listen address when the variable is set, null when it is not; throws
 * when it is set in a build that has no hook (every production build).
 */
export async function loadSnapshotHook(
  env: NodeJS.ProcessEnv = process.env,
  specifier = '../testing/snapshot-hook.js',
): Promise<{ module: SnapshotHookModule; listen: { host: string; port: number } } | null> {
  const value = env[SNAPSHOT_HOOK_ENV];
  if (value === undefined || value === '') return null;
  const listen = parseHookListen(value);
  let module: SnapshotHookModule;
  try {
    module = (await import(specifier)) as SnapshotHookModule;
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') {
      throw ConfigErrors.invalidSetting(
        `${SNAPSHOT_HOOK_ENV} is set, but this control plane has no test snapshot hook: it is compiled out of ` +
          'production builds (only the chaos suite, running the CP from its sources, has it); unset the variable',
      );
    }
    throw e;
  }
  return { module, listen };
}

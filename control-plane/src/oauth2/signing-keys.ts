/**
 * The control plane's oauth2 token signing keys: made, rotated and retired here, sent to DPs only
 * inside the signed snapshot (`_oauth2_signing_keys`, shared/src/snapshot/oauth2-signing-keys.ts).
 * They serve every oauth2 instance without `token_signing_secrets` (docs/plugins.md, oauth2).
 *
 * The schedule (docs/plugins.md, "Token signing keys"):
 * - the first key is made as soon as an oauth2 instance needs one, and signs at once;
 * - when the newest key has signed for `rotationSeconds`, a new key is made whose `not_before`
 *   is `activationSeconds` later: it reaches every DP in the snapshot first, then every DP signs
 *   with it from `not_before` on (the old key keeps verifying);
 * - a key is retired (deleted, so the next snapshot drops it and DPs refuse its tokens with 401
 *   invalid_token) once the key after it has signed for longer than the longest token lifetime of
 *   the instances using the keys, plus a margin for clock skew; never while one of them issues
 *   tokens that never expire.
 *
 * Each change is one config write (a new version and history entry, noted "oauth2 token signing
 * keys: …", naming kids only). Replicas run the check every `checkMs` and after every local
 * config write; the write re-reads under the config version lock and rolls back when another
 * replica got there first, so the keys change once.
 */
import { randomBytes } from 'node:crypto';
import {
  controlPlaneTokenLifetime,
  isGatehouseError,
  needsControlPlaneKeys,
  type GatehouseConfig,
  type Logger,
  type OAuth2SigningKeyRecord,
} from '@gatehouse/shared';
import type { ConfigStore } from '../store/index.js';
import {
  deleteOAuth2SigningKeys,
  insertOAuth2SigningKey,
  readOAuth2PluginConfigs,
  readOAuth2SigningKeys,
} from '../store/oauth2-signing-keys.js';
import type { Db } from '../store/tx.js';

export const DEFAULT_OAUTH2_KEY_ROTATION_SECONDS = 30 * 86_400;
export const DEFAULT_OAUTH2_KEY_ACTIVATION_SECONDS = 300;
/** Added to the token lifetime before a superseded key is retired (clock skew between DPs). */
export const OAUTH2_KEY_RETIRE_MARGIN_SECONDS = 300;
/** How often each replica checks the schedule. */
export const OAUTH2_KEY_CHECK_MS = 60_000;

export interface OAuth2KeySettings {
  /** Seconds the newest key signs before the next one is made (> 0). */
  readonly rotationSeconds: number;
  /** Seconds between making a key and signing with it (≥ 0): longer than a snapshot takes to reach every DP. */
  readonly activationSeconds: number;
}

export const DEFAULT_OAUTH2_KEY_SETTINGS: OAuth2KeySettings = {
  rotationSeconds: DEFAULT_OAUTH2_KEY_ROTATION_SECONDS,
  activationSeconds: DEFAULT_OAUTH2_KEY_ACTIVATION_SECONDS,
};

/** What a check decided: a key to make (its not_before) and kids to retire. */
export interface KeyPlan {
  readonly create: { notBefore: number } | null;
  readonly retire: readonly string[];
}

const NOTHING: KeyPlan = { create: null, retire: [] };

/**
 * The schedule as a pure function of the keys held, whether any instance needs them, the longest
 * token lifetime (null: unbounded) and the time (Unix seconds).
 */
export function planKeys(
  keys: readonly { kid: string; notBefore: number }[],
  needed: boolean,
  lifetime: number | null,
  now: number,
  settings: OAuth2KeySettings,
): KeyPlan {
  if (!needed) return NOTHING;
  if (keys.length === 0) return { create: { notBefore: now }, retire: [] };
  const sorted = [...keys].sort((a, b) => a.notBefore - b.notBefore || (a.kid < b.kid ? -1 : 1));
  const newest = sorted[sorted.length - 1]!;
  const create =
    now >= newest.notBefore + settings.rotationSeconds
      ? { notBefore: now + settings.activationSeconds }
      : null;
  const retire: string[] = [];
  if (lifetime !== null)
    for (let i = 0; i < sorted.length - 1; i++) {
      // Superseded when the next key started signing; its last token expires `lifetime` later.
      const supersededAt = sorted[i + 1]!.notBefore;
      if (supersededAt <= now && now >= supersededAt + lifetime + OAUTH2_KEY_RETIRE_MARGIN_SECONDS)
        retire.push(sorted[i]!.kid);
    }
  return { create, retire };
}

/**
 * When (Unix seconds) planKeys' answer next changes — the newest key due for rotation, or a
 * superseded key due for retirement — or null when nothing ever will (no instance needs keys, or
 * none is held yet: planKeys makes the first at once). Pure.
 */
export function nextKeyChangeAt(
  keys: readonly { kid: string; notBefore: number }[],
  needed: boolean,
  lifetime: number | null,
  settings: OAuth2KeySettings,
): number | null {
  if (!needed || keys.length === 0) return null;
  const sorted = [...keys].sort((a, b) => a.notBefore - b.notBefore);
  let next = sorted[sorted.length - 1]!.notBefore + settings.rotationSeconds;
  if (lifetime !== null)
    for (let i = 0; i < sorted.length - 1; i++)
      next = Math.min(next, sorted[i + 1]!.notBefore + lifetime + OAUTH2_KEY_RETIRE_MARGIN_SECONDS);
  return next;
}

/** A new key id: `gh` and 16 base64url characters (96 random bits; names the key, says nothing of it). */
export const newKid = (): string => `gh${randomBytes(12).toString('base64url')}`;

/** The plugins as planKeys reads them (only oauth2 rows matter). */
async function inputs(db: Db) {
  const rows = await readOAuth2PluginConfigs(db);
  const config = { plugins: rows } as unknown as GatehouseConfig;
  return {
    keys: await readOAuth2SigningKeys(db),
    needed: needsControlPlaneKeys(config),
    lifetime: controlPlaneTokenLifetime(config),
  };
}

/** Rolls back a write that found nothing left to do (another replica did it): no version bump. */
class NothingLeftToChange extends Error {}

export interface KeyChange {
  /** The key made, if any (kid and not_before only). */
  readonly created: { kid: string; notBefore: number } | null;
  readonly retired: readonly string[];
}

/**
 * Applies the schedule once: null when nothing was due; otherwise what changed, written in one
 * config write. `now` is Unix milliseconds.
 */
export async function rotateOAuth2SigningKeys(
  store: ConfigStore,
  settings: OAuth2KeySettings = DEFAULT_OAUTH2_KEY_SETTINGS,
  now = Date.now(),
): Promise<KeyChange | null> {
  const seconds = Math.floor(now / 1000);
  const decide = async (db: Db) => {
    const i = await inputs(db);
    return { ...planKeys(i.keys, i.needed, i.lifetime, seconds, settings), keys: i.keys.length };
  };
  const first = await decide(store.prisma);
  if (first.create === null && first.retire.length === 0) return null;
  // Made before the write so the history note can name it (kids only, never a secret).
  const key: OAuth2SigningKeyRecord | null =
    first.create === null
      ? null
      : { kid: newKid(), secret: randomBytes(32).toString('base64url'), notBefore: first.create.notBefore };
  const note = `oauth2 token signing keys: ${[
    ...(key ? [`made ${key.kid}`] : []),
    ...(first.retire.length > 0 ? [`retired ${first.retire.join(', ')}`] : []),
  ].join('; ')}`;
  // The first key (none exists) is written even while a staged rollout runs: the held data planes'
  // config has no instance that needs it (it would have had a key), and the waves' may. A rotation
  // or a retirement waits for the rollout to end (the held DPs keep the keys of its start).
  const firstKey = first.create !== null && first.keys === 0 && first.retire.length === 0;
  let change: KeyChange | null = null;
  try {
    await store.write(
      async (tx) => {
        // Under the version lock: what another replica did meanwhile is seen here.
        const plan = await decide(tx);
        if (firstKey && plan.keys !== 0) throw new NothingLeftToChange();
        const retire = plan.retire.filter((kid) => first.retire.includes(kid));
        const create = plan.create !== null && key !== null ? key : null;
        if (create === null && retire.length === 0) throw new NothingLeftToChange();
        if (create !== null) await insertOAuth2SigningKey(tx, create);
        await deleteOAuth2SigningKeys(tx, retire);
        change = { created: create && { kid: create.kid, notBefore: create.notBefore }, retired: retire };
      },
      { note, duringAnyRollout: firstKey },
    );
  } catch (e) {
    if (e instanceof NothingLeftToChange) return null;
    // A staged rollout runs: the schedule tries again after it (every check, and each write).
    if (isGatehouseError(e) && e.code === 'GH_ERR_ROLLOUT_IN_PROGRESS') return null;
    throw e;
  }
  return change;
}

/**
 * Runs the schedule every `checkMs`, after each config write of this replica (an oauth2 instance
 * just added gets its first key at once), and when the next change falls due before the next
 * periodic check (a rotation or retirement happens on time, not up to `checkMs` late); returns
 * the stop.
 */
export function startOAuth2KeyRotation(
  store: ConfigStore,
  logger: Logger,
  settings: OAuth2KeySettings = DEFAULT_OAUTH2_KEY_SETTINGS,
  checkMs = OAUTH2_KEY_CHECK_MS,
): () => void {
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  let wake: NodeJS.Timeout | null = null;
  // A one-shot wake-up for the next change when it falls due before the periodic check.
  const scheduleNext = async (): Promise<void> => {
    if (stopped) return;
    const i = await inputs(store.prisma);
    const at = nextKeyChangeAt(i.keys, i.needed, i.lifetime, settings);
    if (wake !== null) clearTimeout(wake);
    wake = null;
    if (stopped || at === null) return;
    const ms = Math.max(0, at * 1000 - Date.now()) + 50;
    if (ms >= checkMs) return;
    wake = setTimeout(run, ms);
    wake.unref();
  };
  const run = (): void => {
    if (running) {
      again = true;
      return;
    }
    running = rotateOAuth2SigningKeys(store, settings)
      .then(
        (c) => {
          if (c !== null)
            logger.info(
              {
                created: c.created?.kid ?? null,
                not_before: c.created?.notBefore ?? null,
                retired: c.retired,
              },
              'oauth2 token signing keys changed',
            );
        },
        (err: unknown) => logger.warn({ err }, 'oauth2 token signing key rotation failed'),
      )
      .then(() => scheduleNext())
      .catch((err: unknown) => logger.warn({ err }, 'oauth2 token signing key schedule read failed'))
      .finally(() => {
        running = null;
        if (again) {
          again = false;
          run();
        }
      });
  };
  const timer = setInterval(run, checkMs);
  timer.unref();
  const unsubscribe = store.onChange(() => run());
  run();
  return () => {
    stopped = true;
    clearInterval(timer);
    if (wake !== null) clearTimeout(wake);
    unsubscribe();
  };
}

/**
 * oauth2_signing_keys: the control plane's oauth2 token signing keys (control-plane/src/oauth2/
 * signing-keys.ts makes, rotates and retires them). Read with the config for the snapshot
 * (`ConfigStore.readConfig`), written only inside a config write (a key change is a new config
 * version, so every DP gets it in a snapshot). Secrets never leave through the Admin API.
 */
import type { OAuth2SigningKeyRecord } from '@gatehouse/shared';
import type { Db, Tx } from './tx.js';

/** Every key, oldest first. */
export async function readOAuth2SigningKeys(db: Db): Promise<OAuth2SigningKeyRecord[]> {
  const rows = await db.oauth2SigningKey.findMany({ orderBy: [{ not_before: 'asc' }, { kid: 'asc' }] });
  return rows.map((r) => ({ kid: r.kid, secret: r.secret, notBefore: Number(r.not_before) }));
}

/** Adds `key` (inside a config write). */
export async function insertOAuth2SigningKey(tx: Tx, key: OAuth2SigningKeyRecord): Promise<void> {
  await tx.oauth2SigningKey.create({
    data: { kid: key.kid, secret: key.secret, not_before: BigInt(key.notBefore) },
  });
}

/** Deletes the keys named (inside a config write); how many went. */
export async function deleteOAuth2SigningKeys(tx: Tx, kids: readonly string[]): Promise<number> {
  if (kids.length === 0) return 0;
  const { count } = await tx.oauth2SigningKey.deleteMany({ where: { kid: { in: [...kids] } } });
  return count;
}

/** The oauth2 plugin configs (what decides whether keys are needed and how long they must last). */
export async function readOAuth2PluginConfigs(db: Db): Promise<{ name: string; config: unknown }[]> {
  return db.plugin.findMany({ where: { name: 'oauth2' }, select: { name: true, config: true } });
}

/**
 * `GET /clustering/keys`: the snapshot signing keys and which data planes depend on each.
 *
 *   { mode: "root" | "plain", active_kid, revocation_list_version,
 *     data: [{ kid, status, not_before, expires_at, issued_at, data_planes: [{id, hostname, config_version}] }],
 *     data_planes_without_kid: [id...] }
 *
 * status: `active` (the CP signs with it), `retiring` (not active; a connected DP still holds a
 * snapshot signed by it), `retired` (no connected DP depends on it), `revoked` (in the revocation
 * list). A kid a DP holds that is not in the keys folder (a key removed, or the plain-mode key
 * before root-key mode) is listed too, with `certified: false`. Gatehouse's own (Kong has no such
 * endpoint); docs/security.md, "Signing keys".
 */
import { Router, type Request, type Response } from 'express';
import { methodNotAllowed } from '../admin/errors.js';
import type { DataPlaneRecord } from '../cluster/index.js';
import type { SigningKeyring } from './keyring.js';

export type KeyStatus = 'active' | 'retiring' | 'retired' | 'revoked';

export interface ConnectedDataPlanes {
  listConnected(): Promise<DataPlaneRecord[]>;
}

export async function listKeys(keyring: SigningKeyring, registry: ConnectedDataPlanes) {
  const connected = await registry.listConnected();
  const byKid = new Map<string, DataPlaneRecord[]>();
  const withoutKid: string[] = [];
  for (const dp of connected) {
    if (dp.config_kid === null) {
      withoutKid.push(dp.id);
      continue;
    }
    const list = byKid.get(dp.config_kid) ?? [];
    list.push(dp);
    byKid.set(dp.config_kid, list);
  }
  const planes = (kid: string) =>
    (byKid.get(kid) ?? []).map((dp) => ({
      id: dp.id,
      hostname: dp.hostname,
      config_version: dp.config_version,
    }));
  const entries = keyring.entries();
  const known = new Set(entries.map((e) => e.kid));
  const data = entries.map((e) => {
    const dps = planes(e.kid);
    const status: KeyStatus = e.revoked
      ? 'revoked'
      : e.active
        ? 'active'
        : dps.length > 0
          ? 'retiring'
          : 'retired';
    return {
      kid: e.kid,
      status,
      certified: keyring.mode === 'root',
      validity: e.validity,
      not_before: e.not_before,
      expires_at: e.expires_at,
      issued_at: e.issued_at,
      data_planes: dps,
    };
  });
  for (const kid of [...byKid.keys()].sort()) {
    if (known.has(kid)) continue;
    data.push({
      kid,
      status: 'retiring',
      certified: false,
      validity: null,
      not_before: null,
      expires_at: null,
      issued_at: null,
      data_planes: planes(kid),
    });
  }
  return {
    mode: keyring.mode,
    active_kid: keyring.kid,
    revocation_list_version: keyring.revocationsVersion,
    data,
    data_planes_without_kid: withoutKid,
  };
}

export function createKeysRouter(keyring: SigningKeyring, registry: ConnectedDataPlanes): Router {
  const router = Router();
  const keys = async (_req: Request, res: Response) => {
    res.json(await listKeys(keyring, registry));
  };
  router.route('/clustering/keys').get(keys).all(methodNotAllowed);
  return router;
}

/**
 * What the oauth2 plugin reads of a snapshot, indexed once and shared by every oauth2 instance:
 * the client applications (oauth2_credentials with their consumers) by client_id and by id, and
 * the revoked token ids with the time each would have expired (the snapshot's, from the Admin API,
 * and those the control plane pushed on the stream: revoked-tokens.ts).
 */
import type { Consumer, OAuth2Credential } from '@gatehouse/shared';
import type { SnapshotView } from '../api.js';
import { revokedTokens } from './revoked-tokens.js';

export interface Client {
  readonly credential: OAuth2Credential;
  readonly consumer: Consumer;
}

export interface OAuth2Index {
  byClientId(clientId: string): Client | undefined;
  byId(id: string): Client | undefined;
  /** True while `jti` is revoked: on the snapshot's list or the pushed one (until it expires). */
  revoked(jti: string, now: number): boolean;
}

export function oauth2Index(snapshot: SnapshotView): OAuth2Index {
  return snapshot.memo('oauth2:index', () => {
    const byClientId = new Map<string, Client>();
    const byId = new Map<string, Client>();
    for (const credential of snapshot.config.oauth2_credentials) {
      const consumer = snapshot.consumer(credential.consumer.id);
      if (consumer === undefined) continue;
      const client = { credential, consumer };
      byClientId.set(credential.client_id, client);
      byId.set(credential.id, client);
    }
    const revokedUntil = new Map<string, number>();
    for (const r of snapshot.config.oauth2_token_revocations) revokedUntil.set(r.jti, r.expires_at);
    return {
      byClientId: (clientId) => byClientId.get(clientId),
      byId: (id) => byId.get(id),
      revoked(jti, now) {
        const until = revokedUntil.get(jti);
        if (until !== undefined && (until === 0 || until > now)) return true;
        return revokedTokens().has(jti, now);
      },
    };
  });
}

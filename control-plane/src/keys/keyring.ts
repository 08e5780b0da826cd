/**
 * SigningKeyring: the key the CP signs snapshots and deltas with, as a live {@link SigningKey}
 * (its fields always name the active key, so the publisher, the delta cache and rollouts sign
 * with the newest one without being rebuilt).
 *
 * Root-key mode (key-store.ts): the active key is the newest certified key (greatest not_before,
 * then issued_at) that is within validity and not revoked; every JWS it signs carries its
 * certificate and the revocation list. The folder is read again every `reloadMs` (a key added by
 * `gatehouse keys rotate`, a list written by `gatehouse keys revoke`); 'changed' is emitted when
 * the active key or the revocation list changed, and the CP then signs its config again.
 * Plain mode: one fixed key from a file, no certificate (the weaker mode; docs/security.md).
 */
import { EventEmitter } from 'node:events';
import {
  certificateValidity,
  ConfigErrors,
  type KeyObjectLike,
  type Logger,
  type SigningKey,
} from '@gatehouse/shared';
import { readKeySet, type StoredKeySet, type StoredSigningKey } from './key-store.js';

export const DEFAULT_KEYS_RELOAD_MS = 2_000;

interface Active {
  kid: string;
  key: KeyObjectLike;
  certificate?: string;
  revocations?: string;
}

/** A key as `GET /clustering/keys` lists it (before the DPs on it are added). */
export interface KeyringEntry {
  kid: string;
  /** The key the CP signs with now. */
  active: boolean;
  revoked: boolean;
  /** Unix seconds (null in plain mode: no certificate). */
  not_before: number | null;
  expires_at: number | null;
  issued_at: number | null;
  validity: 'valid' | 'not_yet_valid' | 'expired' | null;
}

function pickActive(set: StoredKeySet, now: number): StoredSigningKey | null {
  const revoked = new Set(set.revocations?.claims.revoked ?? []);
  const usable = set.keys.filter(
    (k) => !revoked.has(k.kid) && certificateValidity(k.claims, now) === 'valid',
  );
  usable.sort(
    (a, b) =>
      b.claims.not_before - a.claims.not_before ||
      b.claims.issued_at - a.claims.issued_at ||
      (a.kid < b.kid ? 1 : -1),
  );
  return usable[0] ?? null;
}

function activeOf(k: StoredSigningKey, set: StoredKeySet): Active {
  return {
    kid: k.kid,
    key: k.key,
    certificate: k.certificate,
    ...(set.revocations ? { revocations: set.revocations.jws } : {}),
  };
}

export class SigningKeyring extends EventEmitter<{ changed: [string] }> implements SigningKey {
  private current: Active;
  private set: StoredKeySet | null;
  private timer: NodeJS.Timeout | null = null;
  private reloading: Promise<boolean> | null = null;

  private constructor(
    readonly mode: 'root' | 'plain',
    first: Active,
    set: StoredKeySet | null,
    readonly snapshotTtlSeconds: number | undefined,
    private readonly dir: string | null,
    private readonly logger: Logger,
  ) {
    super();
    this.current = first;
    this.set = set;
  }

  get kid(): string {
    return this.current.kid;
  }
  get key(): KeyObjectLike {
    return this.current.key;
  }
  get certificate(): string | undefined {
    return this.current.certificate;
  }
  get revocations(): string | undefined {
    return this.current.revocations;
  }

  /** Plain mode: one key, no certificate. */
  static plain(key: SigningKey, o: { logger: Logger; snapshotTtlSeconds?: number }): SigningKeyring {
    return new SigningKeyring(
      'plain',
      { kid: key.kid, key: key.key },
      null,
      o.snapshotTtlSeconds,
      null,
      o.logger,
    );
  }

  /** Root-key mode over a keys folder; throws when no certified key is usable. */
  static async open(o: {
    dir: string;
    logger: Logger;
    snapshotTtlSeconds?: number;
    reloadMs?: number;
  }): Promise<SigningKeyring> {
    const set = await readKeySet(o.dir);
    const now = Math.floor(Date.now() / 1000);
    const first = pickActive(set, now);
    if (!first) {
      throw ConfigErrors.missingKey(
        `no usable signing key in ${o.dir}: every certified key is expired, not yet valid or revoked. ` +
          `Add one with 'gatehouse keys rotate --root-key <root key> --dir ${o.dir}'`,
      );
    }
    const ring = new SigningKeyring('root', activeOf(first, set), set, o.snapshotTtlSeconds, o.dir, o.logger);
    const reloadMs = o.reloadMs ?? DEFAULT_KEYS_RELOAD_MS;
    if (reloadMs > 0) {
      ring.timer = setInterval(() => void ring.reload(), reloadMs);
      ring.timer.unref();
    }
    return ring;
  }

  /**
   * Reads the keys folder again; true (and 'changed') when the active key or the revocation list
   * changed. A folder that cannot be read, or leaves no usable key, keeps the current key (logged).
   */
  reload(): Promise<boolean> {
    if (this.mode === 'plain' || this.dir === null) return Promise.resolve(false);
    this.reloading ??= this.readAgain(this.dir).finally(() => (this.reloading = null));
    return this.reloading;
  }

  private async readAgain(dir: string): Promise<boolean> {
    let set: StoredKeySet;
    try {
      set = await readKeySet(dir);
    } catch (err) {
      this.logger.error({ err, dir }, 'signing keys folder unreadable; signing with the key held');
      return false;
    }
    const next = pickActive(set, Math.floor(Date.now() / 1000));
    this.set = set;
    if (!next) {
      this.logger.error(
        { kid: this.current.kid, dir },
        'no usable signing key (every one expired, not yet valid or revoked); signing with the key held: add one with gatehouse keys rotate',
      );
      return false;
    }
    const active = activeOf(next, set);
    if (active.kid === this.current.kid && active.revocations === this.current.revocations) return false;
    const previous = this.current.kid;
    this.current = active;
    this.logger.info(
      { kid: active.kid, previous, revocations: set.revocations?.claims.version ?? null },
      active.kid === previous
        ? 'new revocation list: signing again'
        : 'signing key rotated: signing with the new key',
    );
    this.emit('changed', active.kid);
    return true;
  }

  /** Every key: the certified ones in root-key mode (newest first), the one key in plain mode. */
  entries(now = Math.floor(Date.now() / 1000)): KeyringEntry[] {
    if (!this.set) {
      return [
        {
          kid: this.current.kid,
          active: true,
          revoked: false,
          not_before: null,
          expires_at: null,
          issued_at: null,
          validity: null,
        },
      ];
    }
    const revoked = new Set(this.set.revocations?.claims.revoked ?? []);
    return [...this.set.keys]
      .sort((a, b) => b.claims.not_before - a.claims.not_before || b.claims.issued_at - a.claims.issued_at)
      .map((k) => ({
        kid: k.kid,
        active: k.kid === this.current.kid,
        revoked: revoked.has(k.kid),
        not_before: k.claims.not_before,
        expires_at: k.claims.expires_at,
        issued_at: k.claims.issued_at,
        validity: certificateValidity(k.claims, now),
      }));
  }

  /** The revocation list's version (null: none, or plain mode). */
  get revocationsVersion(): number | null {
    return this.set?.revocations?.claims.version ?? null;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

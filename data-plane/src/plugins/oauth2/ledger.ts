/**
 * The grant ledger: where a data plane redeems a single-use artifact (an authorization code, a
 * refresh token) so that a second redemption, at this DP or any other, is refused. The control
 * plane keeps it (the DP asks it over the cluster channel; docs/plugins.md, oauth2): a redeemed
 * jti becomes an oauth2_token_revocations row and so reaches every DP in the snapshot as well.
 * Without a control plane to ask (DB-less, tests) the ledger is this process's memory.
 */

/** One jti to mark used/revoked, with the credential it belongs to and when it expires. */
export interface LedgerEntry {
  readonly jti: string;
  readonly credentialId: string;
  /** Unix seconds; 0 when the artifact never expires (kept as long as its credential). */
  readonly expiresAt: number;
}

export type RedeemResult = 'redeemed' | 'already-used' | 'unavailable';

export interface GrantLedger {
  /**
   * Marks `entry` used and `alsoRevoke` (the access token a refresh token came with) revoked.
   * 'already-used' when `entry` was redeemed or revoked before; 'unavailable' when the ledger
   * cannot be reached (the control plane is down): the grant is then refused.
   */
  redeem(entry: LedgerEntry, alsoRevoke: readonly LedgerEntry[]): Promise<RedeemResult>;
}

/** This process's memory: single use within one process only (DB-less DPs and unit tests). */
export class MemoryLedger implements GrantLedger {
  private readonly used = new Map<string, number>();

  redeem(entry: LedgerEntry, alsoRevoke: readonly LedgerEntry[]): Promise<RedeemResult> {
    const now = Date.now() / 1000;
    for (const [jti, exp] of this.used) if (exp !== 0 && exp <= now) this.used.delete(jti);
    if (this.used.has(entry.jti)) return Promise.resolve('already-used');
    for (const e of [entry, ...alsoRevoke]) this.used.set(e.jti, e.expiresAt);
    return Promise.resolve('redeemed');
  }
}

let current: GrantLedger = new MemoryLedger();

/** The ledger the oauth2 plugin redeems with (the worker runtime installs the cluster one). */
export function grantLedger(): GrantLedger {
  return current;
}

/** Installs `ledger` (the worker runtime at start, tests). */
export function setGrantLedger(ledger: GrantLedger): void {
  current = ledger;
}

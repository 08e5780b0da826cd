/**
 * The grant ledger of a data plane worker: each redemption goes to the primary over IPC, which
 * asks the control plane (ConfigClient.redeemOAuth2Grant). No answer within the timeout reads as
 * 'unavailable' (the grant is refused; access tokens keep verifying locally).
 */
import type { GrantRedeemedMessage, GrantRedeemMessage } from '../../workers/protocol.js';
import type { GrantLedger, LedgerEntry, RedeemResult } from './ledger.js';

const TIMEOUT_MS = 8_000;

const tokenId = (e: LedgerEntry) => ({ jti: e.jti, credentialId: e.credentialId, expiresAt: e.expiresAt });

export class IpcGrantLedger implements GrantLedger {
  private nextId = 1;
  private readonly pending = new Map<number, (r: RedeemResult) => void>();

  constructor(private readonly send: (m: GrantRedeemMessage) => boolean) {}

  redeem(entry: LedgerEntry, alsoRevoke: readonly LedgerEntry[]): Promise<RedeemResult> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.settle(id, 'unavailable'), TIMEOUT_MS);
      timer.unref();
      this.pending.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      const sent = this.send({
        t: 'grant-redeem',
        id,
        grant: tokenId(entry),
        alsoRevoke: alsoRevoke.map(tokenId),
      });
      if (!sent) this.settle(id, 'unavailable');
    });
  }

  /** The primary's answer. */
  onReply(m: GrantRedeemedMessage): void {
    this.settle(m.id, m.result);
  }

  private settle(id: number, result: RedeemResult): void {
    const done = this.pending.get(id);
    if (done === undefined) return;
    this.pending.delete(id);
    done(result);
  }
}

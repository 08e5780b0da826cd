import { RolloutErrors } from '@gatehouse/shared';
import type { Tx } from './tx.js';

/**
 * Refuses a config write while a staged rollout runs, unless it is that rollout's own (its id).
 * Kong has no rollouts; the answer is a Kong-shaped 409 (`{ message }`) naming the rollout and how
 * to end it (docs/rollouts.md).
 */
export async function refuseDuringRollout(tx: Tx, own: string | undefined): Promise<void> {
  const running = await tx.rollout.findFirst({ where: { state: 'running' }, select: { id: true } });
  if (running && running.id !== own)
    throw RolloutErrors.inProgress(
      `staged rollout ${running.id} is running: configuration changes are refused until it completes, ` +
        `fails or is aborted (POST /config/rollouts/${running.id}/abort)`,
      { rollout: running.id },
    );
}

/**
 * Property tests explore a new random seed on every run of `npm test`. CI pins one seed
 * (`GATEHOUSE_FC_SEED`, set by `.ci/run`) so a landing is decided by the code, not by which
 * corner of the input space a run happened to draw; local runs keep exploring, and every
 * counterexample they find is kept as an `examples` entry in its test.
 */
import fc from 'fast-check';

const pinned = process.env.GATEHOUSE_FC_SEED;
if (pinned !== undefined && pinned !== '') {
  const seed = Number(pinned);
  if (!Number.isSafeInteger(seed)) throw new Error(`GATEHOUSE_FC_SEED must be an integer, got "${pinned}"`);
  fc.configureGlobal({ ...fc.readConfigureGlobal(), seed });
}

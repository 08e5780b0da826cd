/**
 * Bounds of the cluster protocol, in a module of their own (no imports) so a data plane worker can
 * read them without loading the gRPC stack (`@gatehouse/proto/src/limits`; the package index
 * re-exports them).
 */

/** Revoked oauth2 tokens a DP holds at most (and the most a CP sends it after Hello). */
export const MAX_OAUTH2_REVOCATIONS = 100_000;
/** Tokens per OAuth2Revocations message (a long list goes in several). */
export const OAUTH2_REVOCATIONS_PER_MESSAGE = 5_000;

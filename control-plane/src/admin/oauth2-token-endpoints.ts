/**
 * `/oauth2_tokens`: Kong's path, for what the control plane knows of oauth2 tokens. Access tokens
 * are signed JWTs no store holds (docs/plugins.md, oauth2), so the list is the CP's records:
 * redeemed codes and refresh tokens (`revoked: false`) and revoked tokens (`revoked: true`), from
 * oauth2_used_tokens, kept until the token would have expired.
 *
 *   GET    /oauth2_tokens[?size&offset&credential]   {data, next, offset} by jti
 *   GET    /oauth2_tokens/{jti}                       one record, 404 when the CP has none
 *   DELETE /oauth2_tokens/{jti}                       revokes it: 204
 *          [?credential=<oauth2 credential id>&expires_at=<token exp>] for a jti the CP never saw
 *
 * A revocation is not configuration (no config version): it is pushed at once to every DP on the
 * cluster stream (OAuth2Revocations, this replica's DPs and, over NATS, the other replicas'), and
 * a DP that connects later gets it with the live list after its Hello. Kong answers 204 to a
 * DELETE of an unknown token; here it is 404 unless `credential` and `expires_at` say what to
 * revoke (the token's `sub` and `exp`), since the CP cannot revoke a token it knows nothing about.
 */
import { Router, type Request } from 'express';
import { defineError, isUuid } from '@gatehouse/shared';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { OAuth2RevocationRelay } from '../messaging/replicas.js';
import { decodeOffset, encodeOffset, parseSize } from '../store/pagination.js';
import {
  getUsedToken,
  insertUsedTokenOnce,
  isStorableToken,
  listUsedTokens,
  markRevoked,
  MAX_JTI_LENGTH,
  type UsedTokenRow,
} from '../store/oauth2-used-tokens.js';
import { AdminErrors, methodNotAllowed } from './errors.js';
import { param } from './generic-router.js';

export const OAuth2TokenErrors = {
  /** DELETE /oauth2_tokens/{jti}: `credential` or `expires_at` malformed, or no such credential. */
  badRevocation: defineError('GH_ERR_ADMIN_TOKEN_REVOCATION', 400),
} as const;

const JTI = /^[\x21-\x7e]+$/;
const EXPIRES_AT = /^(0|[1-9][0-9]{0,9})$/;
const PATH = '/oauth2_tokens';

/** The token record as the Admin API shows it (Kong's `id` and `credential`; ours beside them). */
export function tokenJson(t: UsedTokenRow) {
  return {
    id: t.jti,
    jti: t.jti,
    credential: { id: t.credentialId },
    revoked: t.revoked,
    expires_at: t.expiresAt,
    created_at: t.usedAt,
  };
}

/** The jti of the path; 404 when it cannot be one. */
function jtiOf(req: Request): string {
  const jti = param(req.params.jti);
  if (jti.length === 0 || jti.length > MAX_JTI_LENGTH || !JTI.test(jti))
    throw AdminErrors.notFound('Not found');
  return jti;
}

/** One query value (a repeated one is refused). */
function query(req: Request, name: string): string | undefined {
  const v = req.query[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw OAuth2TokenErrors.badRevocation(`${name}: expected one value`);
  return v;
}

export function oauth2TokenEndpoints(prisma: PrismaClient, relay: OAuth2RevocationRelay): Router {
  const r = Router();

  r.route(PATH)
    .get(async (req, res) => {
      const size = parseSize(req.query.size as string | string[] | undefined);
      const offset = req.query.offset;
      const after =
        offset === undefined
          ? undefined
          : decodeOffset(
              typeof offset === 'string' ? offset : '',
              (c) => c.length > 0 && c.length <= MAX_JTI_LENGTH,
            );
      const credential = req.query.credential;
      if (credential !== undefined && (typeof credential !== 'string' || !isUuid(credential)))
        throw AdminErrors.notFound('Not found');
      const page = await listUsedTokens(prisma, { size, after, credentialId: credential });
      const last = page.rows[page.rows.length - 1];
      const next = page.more && last ? encodeOffset(last.jti) : null;
      res.json({
        data: page.rows.map(tokenJson),
        next: next === null ? null : `${PATH}?offset=${encodeURIComponent(next)}&size=${size}`,
        ...(next === null ? {} : { offset: next }),
      });
    })
    .all(methodNotAllowed);

  r.route(`${PATH}/:jti`)
    .get(async (req, res) => {
      const row = await getUsedToken(prisma, jtiOf(req));
      if (row === null) throw AdminErrors.notFound('Not found');
      res.json(tokenJson(row));
    })
    .delete(async (req, res) => {
      const jti = jtiOf(req);
      let row = await markRevoked(prisma, jti);
      if (row === null) {
        const credential = query(req, 'credential');
        const expiresAt = query(req, 'expires_at');
        if (credential === undefined && expiresAt === undefined)
          throw AdminErrors.notFound(
            'Not found (the control plane has no record of this token: give ?credential=<id>&expires_at=<exp> to revoke it)',
          );
        if (credential === undefined || !isUuid(credential))
          throw OAuth2TokenErrors.badRevocation('credential: expected the oauth2 credential id (a UUID)');
        if (expiresAt === undefined || !EXPIRES_AT.test(expiresAt))
          throw OAuth2TokenErrors.badRevocation(
            "expires_at: expected the token's exp (Unix seconds, 0: never)",
          );
        const token = { jti, credentialId: credential, expiresAt: Number(expiresAt) };
        if (!isStorableToken(token))
          throw OAuth2TokenErrors.badRevocation('expires_at: expected Unix seconds before year 2286');
        if (!(await insertUsedTokenOnce(prisma, token, true))) {
          // Raced with a redemption, revoked in the config already, or no such credential.
          row = await markRevoked(prisma, jti);
          if (row === null)
            throw OAuth2TokenErrors.badRevocation(
              'credential: no such oauth2 credential (or the token is revoked in oauth2_token_revocations already)',
            );
        } else row = await getUsedToken(prisma, jti);
      }
      if (row !== null) relay.broadcastOAuth2Revocations([row]);
      res.status(204).end();
    })
    .all(methodNotAllowed);

  return r;
}

/**
 * mtls-auth (Kong Enterprise's, priority 1600): the client certificate of the TLS connection,
 * verified against the plugin's CA certificates (chain.ts), checked against CRLs
 * (`revocation_check_mode`, crl.ts), then mapped to a consumer: an `mtls_auth_credentials`
 * entity naming the certificate's CN or a SAN, else a consumer whose username / custom_id is one
 * of those names (`consumer_by`), else `default_consumer`. With `skip_consumer_lookup`, any
 * certificate that verifies is let in, its CN (or DN) as the authenticated group.
 * A verified certificate is remembered `cache_ttl` seconds (per instance, bounded), so a
 * keep-alive client costs one fingerprint lookup per request.
 */
import { X509Certificate } from 'node:crypto';
import type { Consumer, MtlsAuthCredential } from '@gatehouse/shared';
import { LRUCache } from 'lru-cache';
import { definePlugin, type ClientCertificate, type PluginContext, type SnapshotView } from '../api.js';
import { alreadyAuthenticated, fail, unauthorized } from '../runtime/auth.js';
import { isSelfSigned, verifyChain, type TrustAnchor } from './chain.js';
import { CRL_CACHE } from './crl-cache.js';
import { crlDistributionPoints, crlProblem, isRevoked } from './crl.js';
import { certificateNames, type CertificateNames } from './names.js';
import { mtlsAuthSpec, type MtlsAuthConfig } from './schema.js';

const NO_CERTIFICATE = 'No required TLS certificate was sent';
const FAILED = 'TLS certificate failed verification';
/** Verified certificates remembered per instance (at most). */
const VERIFIED_MAX = 10_000;

/** A certificate that verified: its chain's anchor and what the consumer lookup reads. */
interface Verified {
  readonly ok: true;
  readonly leaf: X509Certificate;
  /** The leaf's issuer (for its CRL). */
  readonly issuer: X509Certificate;
  readonly anchor: TrustAnchor;
  readonly names: CertificateNames;
  /** CN then the SANs, without repeats: what credentials and consumers are matched against. */
  readonly subjects: readonly string[];
  readonly crlUrls: readonly string[];
  readonly fingerprint: string;
}

type Verdict = Verified | { readonly ok: false; readonly reason: string };

interface Remembered {
  readonly verdict: Verdict;
  readonly until: number;
}

interface Indexes {
  readonly anchors: ReadonlyMap<string, TrustAnchor>;
  /** subject_name -> credentials naming it. */
  readonly credentials: ReadonlyMap<string, readonly MtlsAuthCredential[]>;
  readonly byCustomId: ReadonlyMap<string, Consumer>;
  /** By username only (a certificate naming a consumer's id matches nothing). */
  readonly byUsername: ReadonlyMap<string, Consumer>;
}

/** The CA certificates, credentials and custom ids of a snapshot, indexed once for every instance. */
function indexes(snapshot: SnapshotView): Indexes {
  return snapshot.memo('mtls-auth:indexes', () => {
    const anchors = new Map<string, TrustAnchor>();
    for (const ca of snapshot.config.ca_certificates) {
      try {
        const cert = new X509Certificate(ca.cert);
        anchors.set(ca.id, { id: ca.id, cert, root: isSelfSigned(cert) });
      } catch {
        // A CA certificate that does not parse anchors nothing (the CP validates them).
      }
    }
    const credentials = new Map<string, MtlsAuthCredential[]>();
    for (const c of snapshot.config.mtls_auth_credentials) {
      const list = credentials.get(c.subject_name);
      if (list === undefined) credentials.set(c.subject_name, [c]);
      else list.push(c);
    }
    const byCustomId = new Map<string, Consumer>();
    const byUsername = new Map<string, Consumer>();
    for (const c of snapshot.config.consumers) {
      if (c.custom_id !== null) byCustomId.set(c.custom_id, c);
      if (c.username !== null) byUsername.set(c.username, c);
    }
    return { anchors, credentials, byCustomId, byUsername };
  });
}

interface State {
  readonly conf: MtlsAuthConfig;
  readonly anchors: readonly TrustAnchor[];
  readonly index: Indexes;
  readonly snapshot: SnapshotView;
  readonly remembered: LRUCache<string, Remembered> | null;
}

function verify(state: State, presented: ClientCertificate, nowMs: number): Verdict {
  const result = verifyChain(presented.leaf, presented.chain, state.anchors, {
    allowPartialChain: state.conf.allow_partial_chain,
    nowMs,
  });
  if (!result.ok) return result;
  let names: CertificateNames;
  let crlUrls: string[];
  try {
    names = certificateNames(presented.leaf);
    crlUrls = crlDistributionPoints(presented.leaf);
  } catch (e) {
    return { ok: false, reason: `certificate extensions do not parse: ${(e as Error).message}` };
  }
  const subjects = [
    ...new Set([...(names.commonName === null ? [] : [names.commonName]), ...names.altNames]),
  ];
  return {
    ok: true,
    leaf: presented.leaf,
    issuer: result.path[1] ?? result.anchor.cert,
    anchor: result.anchor,
    names,
    subjects,
    crlUrls,
    fingerprint: presented.leaf.fingerprint256.replaceAll(':', '').toLowerCase(),
  };
}

/** The verdict on `presented`, remembered `cache_ttl` seconds (never past the leaf's notAfter). */
function verdictOf(state: State, presented: ClientCertificate): Verdict {
  const nowMs = Date.now();
  const key =
    state.remembered === null
      ? ''
      : [presented.leaf.fingerprint256, ...presented.chain.map((c) => c.fingerprint256)].join('/');
  const seen = state.remembered?.get(key);
  if (seen !== undefined && seen.until > nowMs) return seen.verdict;
  const verdict = verify(state, presented, nowMs);
  if (state.remembered !== null) {
    const notAfter = Date.parse(presented.leaf.validTo);
    const until = Math.min(nowMs + state.conf.cache_ttl * 1000, Number.isFinite(notAfter) ? notAfter : nowMs);
    state.remembered.set(key, { verdict, until });
  }
  return verdict;
}

/**
 * Why the leaf is refused by `revocation_check_mode` (revoked; STRICT: no CRL that says it is
 * not), or null. IGNORE_CA_ERROR lets a certificate in when no CRL can be had.
 */
async function revocationProblem(state: State, v: Verified): Promise<string | null> {
  const conf = state.conf;
  const strict = conf.revocation_check_mode === 'STRICT';
  if (v.crlUrls.length === 0) return strict ? 'no CRL distribution point to check revocation' : null;
  const options = { timeoutMs: conf.http_timeout, ttlMs: conf.cert_cache_ttl, sslVerify: conf.ssl_verify };
  const problems: string[] = [];
  for (const url of v.crlUrls) {
    const got = await CRL_CACHE.get(url, options);
    if ('error' in got) {
      problems.push(got.error);
      continue;
    }
    const problem = crlProblem(got.crl, v.issuer, Date.now());
    if (problem !== null) {
      problems.push(problem);
      continue;
    }
    return isRevoked(got.crl, v.leaf) ? 'certificate revoked' : null;
  }
  return strict ? `revocation status unknown: ${problems.join('; ')}` : null;
}

/** The credential naming one of the subjects (for this CA first, then for any CA). */
function findCredential(state: State, v: Verified): MtlsAuthCredential | null {
  for (const subject of v.subjects) {
    const list = state.index.credentials.get(subject);
    if (list === undefined) continue;
    const forCa = list.find((c) => c.ca_certificate?.id === v.anchor.id);
    const any = forCa ?? list.find((c) => c.ca_certificate === null);
    if (any !== undefined) return any;
  }
  return null;
}

function findConsumer(state: State, v: Verified): { consumer: Consumer; credential: string } | null {
  const credential = findCredential(state, v);
  if (credential !== null) {
    const consumer = state.snapshot.consumer(credential.consumer.id);
    if (consumer !== undefined) return { consumer, credential: credential.id };
  }
  for (const subject of v.subjects) {
    for (const by of state.conf.consumer_by ?? []) {
      const consumer =
        by === 'username' ? state.index.byUsername.get(subject) : state.index.byCustomId.get(subject);
      if (consumer !== undefined) return { consumer, credential: v.fingerprint };
    }
  }
  return null;
}

/** X-Client-Cert-Dn and X-Client-Cert-San, sent when no consumer of its own matched the certificate. */
function setCertificateHeaders(ctx: PluginContext, v: Verified): void {
  ctx.setUpstreamHeader('x-client-cert-dn', v.names.dn);
  const san =
    v.names.altNames.length > 0 ? v.names.altNames : v.names.commonName === null ? [] : [v.names.commonName];
  if (san.length > 0) ctx.setUpstreamHeader('x-client-cert-san', san.join(','));
}

function admit(ctx: PluginContext, state: State, v: Verified): void {
  const conf = state.conf;
  const credentialRef = (id: string, consumerId: string | null) => ({
    id,
    type: 'mtls-auth',
    identifier: id,
    consumerId,
  });
  if (conf.skip_consumer_lookup) {
    const group = conf.authenticated_group_by === 'DN' ? v.names.dn : (v.names.commonName ?? v.names.dn);
    ctx.shared.authenticated_groups = [group];
    setCertificateHeaders(ctx, v);
    ctx.authenticate(null, credentialRef(v.fingerprint, null));
    return;
  }
  const found = findConsumer(state, v);
  if (found !== null) {
    ctx.authenticate(found.consumer, credentialRef(found.credential, found.consumer.id));
    return;
  }
  if (conf.default_consumer !== null) {
    const consumer = ctx.findConsumer(conf.default_consumer);
    if (consumer !== null) {
      setCertificateHeaders(ctx, v);
      ctx.authenticate(consumer, credentialRef(v.fingerprint, consumer.id));
      return;
    }
    ctx.log.error(
      { plugin: 'mtls-auth', default_consumer: conf.default_consumer },
      'default_consumer does not exist',
    );
  }
  fail(ctx, conf.anonymous, unauthorized(FAILED, 'no consumer matched the certificate'), 'mtls-auth');
}

export default definePlugin({
  ...mtlsAuthSpec,
  init(conf, { snapshot, log }): State {
    const index = indexes(snapshot);
    const anchors: TrustAnchor[] = [];
    for (const id of conf.ca_certificates) {
      const anchor = index.anchors.get(id);
      if (anchor === undefined)
        log.warn({ ca_certificate: id }, 'mtls-auth: CA certificate not found; it trusts nothing');
      else anchors.push(anchor);
    }
    return {
      conf,
      anchors,
      index,
      snapshot,
      remembered: conf.cache_ttl > 0 ? new LRUCache<string, Remembered>({ max: VERIFIED_MAX }) : null,
    };
  },
  access(ctx, state) {
    const conf = state.conf;
    if (alreadyAuthenticated(ctx, conf.anonymous)) return;
    // Only this plugin may tell the upstream about the client's certificate.
    ctx.removeUpstreamHeader('x-client-cert-dn');
    ctx.removeUpstreamHeader('x-client-cert-san');
    const presented = ctx.request.clientCertificate();
    if (presented === null) {
      fail(ctx, conf.anonymous, unauthorized(NO_CERTIFICATE, 'no client certificate'), 'mtls-auth');
      return;
    }
    const verdict = verdictOf(state, presented);
    if (!verdict.ok) {
      fail(ctx, conf.anonymous, unauthorized(FAILED, verdict.reason), 'mtls-auth');
      return;
    }
    if (conf.revocation_check_mode === 'SKIP') {
      admit(ctx, state, verdict);
      return;
    }
    return revocationProblem(state, verdict).then((problem) => {
      if (problem !== null) fail(ctx, conf.anonymous, unauthorized(FAILED, problem), 'mtls-auth');
      else admit(ctx, state, verdict);
    });
  },
});

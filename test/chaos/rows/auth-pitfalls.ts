/**
 * F22, auth pitfalls (../shared/research/reliability.md §4 #1–12) against a real data plane
 * (test/chaos/hostile.ts), tokens crafted with `jose`: alg none, RS/HS key confusion (also with
 * a whitespace-prefixed PEM), expired and not-yet-valid tokens by default, a foreign key, a
 * stripped or tampered signature, an embedded `jwk`, an unknown issuer; key-auth with a wrong,
 * empty or doubled key; basic-auth with a wrong password or a doubled Authorization; hmac-auth
 * 301 s in the past or with a wrong secret; ACL with forged group headers; identity headers
 * without a credential. Each must be answered 400/401/403 and reach no upstream: bypasses 0 of N.
 * Four controls with the right credentials must get through (the instrument sees a success).
 * The DP publishes its traffic summaries (1 s period) on a private nats-server that wants a
 * user and password, to a control plane that receives them there (`NATS_URL` on both); the row
 * subscribes to `gatehouse.telemetry.>` itself and keeps every message. (A CP with NATS is a
 * replica, so it runs on a Postgres database of its own.)
 * Then the DP's output (logs at debug and the access log), its file-log file (a global plugin of
 * test/chaos/hostile.ts: one line per request), its /metrics, every answer body, the
 * telemetry messages (raw protobuf bytes and decoded to JSON), the CP's output and its analytics
 * answers are searched for every credential of the row (the consumers' secrets, a valid token's
 * signature, the NATS password): hits 0.
 */
import { createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBinary, toJsonString } from '@bufbuild/protobuf';
import { TrafficSummarySchema } from '@gatehouse/proto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { generateKeyPair, SignJWT, exportJWK } from 'jose';
import { startCp, type CpHandle } from '../../../e2e/helpers/processes.js';
import { createPostgresDatabase } from '../../helpers/db.js';
import { startNatsServer, type NatsServer } from '../../helpers/nats-server.js';
import { whenTrue } from '../fleet.js';
import { exchange, HostileDp, request } from '../hostile.js';
import { exactly, type Row } from '../row.js';

const NATS_USER = 'chaos-f22';
const NATS_PASS = 'chaos-S3CRET-nats-9e1d';
const REGION = 'chaos-f22';
const TELEMETRY = 'gatehouse.telemetry.>';

/** One telemetry message as published: its subject, raw bytes and decoded form. */
interface Published {
  readonly subject: string;
  readonly raw: Buffer;
  readonly json: string;
  readonly requests: number;
}

/** Collects every message on `gatehouse.telemetry.>`; a message that does not decode is kept raw. */
function collectTelemetry(nc: NatsConnection, into: Published[]): void {
  nc.subscribe(TELEMETRY, {
    callback: (err, msg) => {
      if (err) return;
      const raw = Buffer.from(msg.data);
      try {
        const summary = fromBinary(TrafficSummarySchema, msg.data);
        const requests = summary.entries.reduce((n, e) => n + Number(e.requests), 0);
        into.push({ subject: msg.subject, raw, json: toJsonString(TrafficSummarySchema, summary), requests });
      } catch {
        into.push({ subject: msg.subject, raw, json: '', requests: 0 });
      }
    },
  });
}

const b64url = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
const now = (): number => Math.floor(Date.now() / 1000);

/** A token signed HS256 with `secret` (any bytes: the RS/HS confusion uses a public PEM). */
function hs256(header: object, payload: object, secret: string | Buffer): string {
  const head = `${b64url({ alg: 'HS256', typ: 'JWT', ...header })}.${b64url(payload)}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

function hmacAuthorization(date: string, target: string, secret: string): string {
  const signature = createHmac('sha256', secret)
    .update(`date: ${date}\nGET ${target} HTTP/1.1`)
    .digest('base64');
  return `hmac username="ops-hmac", algorithm="hmac-sha256", headers="date request-line", signature="${signature}"`;
}

interface Attempt {
  readonly name: string;
  readonly bytes: Buffer;
}

export const F22: Row = {
  id: 'F22',
  fault: 'auth pitfalls (jose-crafted tokens, credentials, identity headers)',
  async run(_profile, log) {
    const nats: NatsServer = await startNatsServer({ user: NATS_USER, pass: NATS_PASS });
    const natsUrl = `nats://${NATS_USER}:${NATS_PASS}@127.0.0.1:${nats.port}`;
    const published: Published[] = [];
    let db: Awaited<ReturnType<typeof createPostgresDatabase>> | null = null;
    let nc: NatsConnection | null = null;
    let cp: CpHandle | null = null;
    let dp: HostileDp | null = null;
    const cpDir = mkdtempSync(join(tmpdir(), 'chaos-f22-cp-'));
    try {
      nc = await connect({ servers: `127.0.0.1:${nats.port}`, user: NATS_USER, pass: NATS_PASS });
      collectTelemetry(nc, published);
      await nc.flush();
      // A CP with NATS is one of a set of replicas, so it wants Postgres (a database of its own).
      db = await createPostgresDatabase();
      cp = await startCp({ dataDir: cpDir, env: { NATS_URL: natsUrl, DATABASE_URL: db.url } });
      dp = await HostileDp.start(['--region', REGION, '--traffic-summary-interval', '1000'], {
        NATS_URL: natsUrl,
      });
      const { secrets } = dp;
      const rs = (claims: object, header: object = {}) =>
        new SignJWT({ iss: 'ops-rs', ...claims })
          .setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...header })
          .sign(secrets.rsa.privateKey);
      const valid = await rs({ exp: now() + 600 });
      const [vh, vp] = valid.split('.');
      const foreign = await generateKeyPair('RS256', { extractable: true });
      const foreignToken = await new SignJWT({ iss: 'ops-rs', exp: now() + 600 })
        .setProtectedHeader({ alg: 'RS256' })
        .sign(foreign.privateKey);
      const embedded = await new SignJWT({ iss: 'ops-rs', exp: now() + 600 })
        .setProtectedHeader({ alg: 'RS256', jwk: await exportJWK(foreign.publicKey) })
        .sign(foreign.privateKey);
      const bearer = (t: string) => [`Authorization: Bearer ${t}`];
      const basic = (user: string, password: string) =>
        `Authorization: Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
      const date = (offsetS: number) => new Date(Date.now() + offsetS * 1000).toUTCString();
      const none = (payload: object) => `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(payload)}.`;

      const attempts: Attempt[] = [
        { name: 'jwt alg none', bytes: request('/jwt', bearer(none({ iss: 'ops-rs', exp: now() + 600 }))) },
        { name: 'jwt alg none, HS credential', bytes: request('/jwt', bearer(none({ iss: 'ops-hs' }))) },
        {
          name: 'jwt alg None',
          bytes: request('/jwt', bearer(`${b64url({ alg: 'None' })}.${b64url({ iss: 'ops-rs' })}.`)),
        },
        { name: 'jwt alg none in the query', bytes: request(`/jwt?jwt=${none({ iss: 'ops-rs' })}`) },
        {
          name: 'jwt HS256 signed with the RSA public PEM',
          bytes: request(
            '/jwt',
            bearer(hs256({}, { iss: 'ops-rs', exp: now() + 600 }, secrets.rsa.publicPem)),
          ),
        },
        {
          name: 'jwt HS256 signed with the PEM, whitespace first',
          bytes: request(
            '/jwt',
            bearer(hs256({}, { iss: 'ops-rs', exp: now() + 600 }, `\n ${secrets.rsa.publicPem}`)),
          ),
        },
        {
          name: 'jwt RS256 expired (no claims_to_verify)',
          bytes: request('/jwt', bearer(await rs({ exp: now() - 120 }))),
        },
        { name: 'jwt RS256 not yet valid', bytes: request('/jwt', bearer(await rs({ nbf: now() + 3600 }))) },
        { name: 'jwt signed by a foreign key', bytes: request('/jwt', bearer(foreignToken)) },
        { name: 'jwt with an embedded jwk', bytes: request('/jwt', bearer(embedded)) },
        { name: 'jwt signature stripped', bytes: request('/jwt', bearer(`${vh}.${vp}.`)) },
        {
          name: 'jwt payload tampered',
          bytes: request(
            '/jwt',
            bearer(
              `${vh}.${b64url({ iss: 'ops-rs', exp: now() + 600, admin: true })}.${valid.split('.')[2]}`,
            ),
          ),
        },
        {
          name: 'jwt alg ES256 on an RS256 credential',
          bytes: request('/jwt', bearer(`${b64url({ alg: 'ES256' })}.${vp}.${valid.split('.')[2]}`)),
        },
        {
          name: 'jwt unknown issuer',
          bytes: request('/jwt', bearer(await rs({ iss: 'nobody', exp: now() + 600 }))),
        },
        {
          name: 'jwt HS256 wrong secret',
          bytes: request('/jwt', bearer(hs256({}, { iss: 'ops-hs' }, 'guess'))),
        },
        {
          name: 'jwt HS256 expired',
          bytes: request('/jwt', bearer(hs256({}, { iss: 'ops-hs', exp: now() - 60 }, secrets.jwtHsSecret))),
        },
        { name: 'key-auth wrong key', bytes: request('/auth', ['apikey: wrong']) },
        { name: 'key-auth empty key', bytes: request('/auth', ['apikey: ']) },
        {
          name: 'key-auth wrong key then the right one',
          bytes: request('/auth', ['apikey: wrong', `apikey: ${secrets.apiKey}`]),
        },
        { name: 'key-auth key with a prefix', bytes: request('/auth', [`apikey: x${secrets.apiKey}`]) },
        { name: 'basic-auth wrong password', bytes: request('/basic', [basic('ops', 'guess')]) },
        {
          name: 'basic-auth user only',
          bytes: request('/basic', [`Authorization: Basic ${Buffer.from('ops').toString('base64')}`]),
        },
        {
          name: 'basic-auth doubled Authorization',
          bytes: request('/basic', [basic('ops', 'guess'), basic('ops', secrets.basicPassword)]),
        },
        {
          name: 'hmac-auth Date 301 s ago',
          bytes: request('/hmac', [
            `Date: ${date(-301)}`,
            `Authorization: ${hmacAuthorization(date(-301), '/hmac', secrets.hmacSecret)}`,
          ]),
        },
        {
          name: 'hmac-auth wrong secret',
          bytes: request('/hmac', [
            `Date: ${date(0)}`,
            `Authorization: ${hmacAuthorization(date(0), '/hmac', 'guess')}`,
          ]),
        },
        {
          name: 'acl: consumer outside the allowed group',
          bytes: request('/acl', [`apikey: ${secrets.apiKey}`]),
        },
        {
          name: 'acl: forged group headers',
          bytes: request('/acl', [
            `apikey: ${secrets.apiKey}`,
            'X-Authenticated-Groups: admins',
            'X-Consumer-Groups: admins',
          ]),
        },
        {
          name: 'identity headers without a credential',
          bytes: request('/auth', [
            'X-Consumer-ID: forged',
            'X-Consumer-Username: ops',
            'X-Anonymous-Consumer: false',
            'X-Credential-Identifier: x',
          ]),
        },
      ];
      const controls: Attempt[] = [
        { name: 'jwt RS256 valid', bytes: request('/jwt', bearer(valid)) },
        { name: 'key-auth valid (query)', bytes: request(`/auth?apikey=${secrets.apiKey}`) },
        { name: 'key-auth valid', bytes: request('/auth', [`apikey: ${secrets.apiKey}`]) },
        { name: 'basic-auth valid', bytes: request('/basic', [basic('ops', secrets.basicPassword)]) },
        {
          name: 'hmac-auth valid',
          bytes: request('/hmac', [
            `Date: ${date(0)}`,
            `Authorization: ${hmacAuthorization(date(0), '/hmac', secrets.hmacSecret)}`,
          ]),
        },
      ];
      const bodies: string[] = [];
      let sent = 0;
      let bypasses = 0;
      for (const a of attempts) {
        const from = dp.seen.length;
        const x = await exchange(dp.port, a.bytes);
        sent++;
        bodies.push(x.raw);
        const reached = dp.since(from).length;
        if (x.status === null || ![400, 401, 403].includes(x.status) || reached > 0) {
          bypasses++;
          log(`${a.name}: ${x.status ?? 'no answer'}${reached > 0 ? ', reached the upstream' : ''}`);
        }
      }
      let accepted = 0;
      for (const c of controls) {
        // (Not kept for the search: the echo upstream answers with the request's own headers.)
        const x = await exchange(dp.port, c.bytes);
        sent++;
        if (x.status === 200) accepted++;
        else log(`control ${c.name}: ${x.status ?? 'no answer'}`);
      }
      // Secrets: the DP's output (its logs and access log), its metrics, the answers, the
      // telemetry on NATS, the CP's output and analytics.
      await new Promise((r) => setTimeout(r, 1500)); // the access log is flushed at least once a second
      const counted = () => published.reduce((n, p) => n + p.requests, 0);
      const summarised = await whenTrue(async () => counted() >= sent, 20_000, 100);
      if (summarised === null)
        log(`telemetry: only ${counted()} of ${sent} requests summarised on NATS within 20 s`);
      const fileLog = () => (existsSync(dp!.fileLog) ? readFileSync(dp!.fileLog, 'utf8') : '');
      const fileLines = () =>
        fileLog()
          .split('\n')
          .filter((l) => l !== '').length;
      if ((await whenTrue(async () => fileLines() >= sent, 10_000, 100)) === null)
        log(`file-log: only ${fileLines()} of ${sent} requests written within 10 s`);
      const metrics = await (await fetch(`${dp.status}/metrics`)).text();
      const analytics: string[] = [];
      for (const what of ['services', 'routes', 'consumers', 'data-planes', 'regions'])
        analytics.push(await (await fetch(`${cp.admin}/analytics/${what}?window=10m`)).text());
      const cpKnows = analytics[3]!.includes(REGION) || analytics[4]!.includes(REGION);
      const needles = {
        'key-auth key': secrets.apiKey,
        'basic-auth password': secrets.basicPassword,
        'basic-auth Authorization': Buffer.from(`ops:${secrets.basicPassword}`).toString('base64'),
        'hmac secret': secrets.hmacSecret,
        'jwt HS secret': secrets.jwtHsSecret,
        'jwt signature': valid.split('.')[2]!,
        'NATS password': NATS_PASS,
      };
      const telemetryRaw = Buffer.concat(published.map((p) => p.raw)).toString('latin1');
      const telemetryJson = published.map((p) => `${p.subject} ${p.json}`).join('\n');
      const haystacks = {
        'DP output': dp.proc.output,
        metrics,
        'answer bodies': bodies.join('\n'),
        'file-log file': fileLog(),
        'telemetry bytes': telemetryRaw,
        'telemetry decoded': telemetryJson,
        'CP output': cp.proc.output,
        'CP analytics': analytics.join('\n'),
      };
      let hits = 0;
      for (const [hay, text] of Object.entries(haystacks))
        for (const [what, needle] of Object.entries(needles))
          if (text.includes(needle)) {
            hits++;
            log(
              `secret hit: the ${what} in the ${hay}: …${(text.split('\n').find((l) => l.includes(needle)) ?? '').replaceAll(needle, '<SECRET>').slice(0, 400)}…`,
            );
          }
      log(
        `${attempts.length} attempts, ${bypasses} not refused; controls ${accepted} of ${controls.length}; searched ${dp.proc.output.length} B of output, ${metrics.length} B of metrics, ` +
          `${published.length} telemetry messages (${telemetryRaw.length} B, ${counted()} of ${sent} requests; decoded ${telemetryJson.length} B), ` +
          `${cp.proc.output.length} B of CP output, ${analytics.join('').length} B of CP analytics (the DP's region there: ${cpKnows})`,
      );
      return [
        exactly('bypasses', bypasses, 0, attempts.length),
        exactly('controls with the right credential accepted', accepted, controls.length, controls.length),
        // The instrument: the row's requests reached the telemetry it searches.
        exactly('requests summarised on NATS', Math.min(counted(), sent), sent, sent),
        exactly('requests written by file-log', fileLines(), sent, sent),
        exactly('secret hits in logs, file-log, metrics, answers, NATS telemetry, CP analytics', hits, 0),
      ];
    } finally {
      await dp?.close();
      await cp?.proc.stop();
      await nc?.close();
      await nats.kill();
      await db?.drop();
      rmSync(cpDir, { recursive: true, force: true });
    }
  },
};

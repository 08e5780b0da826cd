/**
 * Hostile HTTP/1.1 input against a real data plane (test/chaos/hostile.ts), on raw sockets so no
 * client library normalises what is sent.
 *
 * F18, the smuggling corpus (data-plane/src/proxy/fixtures/smuggling-corpus.ts) plus a byte fuzzer
 * of ambiguous framing lines (fast-check; 100 requests short, 500 full): every request answered
 * 400 with the connection closed; nothing reaches the upstream.
 * F19, path and Host confusion: the traversal corpus (fixtures/path-corpus.ts) aimed from
 * `/public` at `/admin`, and Host tricks aimed at the `internal.example` route, both key-auth
 * protected, sent without a key: bypasses (a protected-upstream hit, or an open-route request a
 * lax upstream resolves under /admin) 0 of N; no 5xx or reset. A keyed request reaching the
 * protected upstream shows the instrument can see a hit.
 * F20, hop-by-hop / XFF / identity / Upgrade / Expect (fixtures/header-corpus.ts): the echo
 * upstream's headers hold none of what each case forbids (0 of N); rate limiting by IP counts the
 * same number of 429s whether X-Forwarded-For is fixed or rotated on every request.
 */
import fc from 'fast-check';
import { laxUpstreamResolve, TRAVERSAL_CORPUS } from '../../../data-plane/src/proxy/fixtures/path-corpus.js';
import { HEADER_CASES } from '../../../data-plane/src/proxy/fixtures/header-corpus.js';
import {
  framingVariant,
  smuggleBytes,
  SMUGGLED_PATH,
  SMUGGLING_CORPUS,
} from '../../../data-plane/src/proxy/fixtures/smuggling-corpus.js';
import {
  exchange,
  headerNames,
  headerValues,
  HostileDp,
  RATE_LIMIT,
  request,
  type Seen,
} from '../hostile.js';
import { exactly, holds, type Row } from '../row.js';

/** A fixed seed unless GATEHOUSE_FC_SEED says otherwise (as the property tests do in CI). */
const SEED = Number(process.env.GATEHOUSE_FC_SEED ?? 20261206);

export const F18: Row = {
  id: 'F18',
  fault: 'request smuggling corpus and framing fuzzer',
  async run(profile, log) {
    const dp = await HostileDp.start();
    try {
      const from = dp.seen.length;
      const requests: { name: string; bytes: Buffer }[] = SMUGGLING_CORPUS.map((c) => ({
        name: c.name,
        bytes: smuggleBytes(c, '/echo', 'gw.example'),
      }));
      const draws = fc.sample(fc.array(fc.nat({ max: 1 << 20 }), { minLength: 8, maxLength: 8 }), {
        numRuns: profile.short ? 100 : 500,
        seed: SEED,
      });
      for (const [d, draw] of draws.entries()) {
        let k = 0;
        requests.push({
          name: `fuzz ${d}`,
          bytes: framingVariant((n) => draw[k++ % draw.length]! % n, '/echo', 'gw.example'),
        });
      }
      let rejected = 0;
      const others: string[] = [];
      const byCase = new Map<Seen, string>();
      for (const r of requests) {
        const at = dp.seen.length;
        const x = await exchange(dp.port, r.bytes);
        await new Promise((resolve) => setTimeout(resolve, 20));
        for (const s of dp.since(at)) byCase.set(s, r.name);
        if (x.status === 400 && x.closed) rejected++;
        else
          others.push(
            `${r.name}: ${x.status ?? 'no answer'}${x.closed ? '' : ' (left open)'} ${JSON.stringify(r.bytes.toString('latin1').slice(0, 120))}`,
          );
      }
      // A chunked body found malformed half-way has had its head forwarded (bodies stream);
      // the DP then aborts the upstream request, which never ends. A hit is a request the
      // upstream received whole, or any request for the smuggled path.
      const hits = dp.since(from).filter((s) => s.complete || s.url.includes(SMUGGLED_PATH));
      for (const o of others.slice(0, 10)) log(`not rejected: ${o}`);
      for (const h of hits.slice(0, 10))
        log(`upstream got ${h.method} ${h.url} whole (${byCase.get(h) ?? '?'})`);
      const heads = dp.since(from).length - hits.length;
      if (heads > 0)
        log(`${heads} request heads reached the upstream and were cut off (malformed chunked bodies)`);
      log(
        `${requests.length} requests (${SMUGGLING_CORPUS.length} corpus, ${draws.length} fuzzed): ${rejected} rejected, ${hits.length} upstream hits`,
      );
      return [
        exactly('rejected with 400 and closed', rejected, requests.length, requests.length),
        exactly('upstream hits (whole requests)', hits.length, 0),
      ];
    } finally {
      await dp.close();
    }
  },
};

/** Host tricks aimed at the key-auth route of host `internal.example` (sent without a key). */
const HOST_CORPUS: readonly { name: string; bytes: Buffer }[] = [
  ['upper case, trailing dot', request('/x', [], { host: 'INTERNAL.Example.' })],
  ['with a port', request('/x', [], { host: 'internal.example:8000' })],
  [
    'duplicate Host, public first',
    Buffer.from(
      'GET /echo HTTP/1.1\r\nHost: gw.example\r\nHost: internal.example\r\nConnection: close\r\n\r\n',
    ),
  ],
  [
    'duplicate Host, internal first',
    Buffer.from('GET /x HTTP/1.1\r\nHost: internal.example\r\nHost: gw.example\r\nConnection: close\r\n\r\n'),
  ],
  [
    'absolute-form internal, Host public',
    Buffer.from('GET http://internal.example/x HTTP/1.1\r\nHost: gw.example\r\nConnection: close\r\n\r\n'),
  ],
  [
    'absolute-form public, Host internal',
    Buffer.from('GET http://gw.example/echo HTTP/1.1\r\nHost: internal.example\r\nConnection: close\r\n\r\n'),
  ],
  ['userinfo in Host', request('/echo', [], { host: 'internal.example@gw.example' })],
  ['path in Host', request('/echo', [], { host: 'internal.example/x' })],
  ['X-Forwarded-Host internal', request('/echo', ['X-Forwarded-Host: internal.example'])],
  ['X-Original-URL /admin', request('/public/x', ['X-Original-URL: /admin/x', 'X-Rewrite-URL: /admin/x'])],
  ['HTTP/1.0 without Host', Buffer.from('GET /admin/x HTTP/1.0\r\n\r\n')],
  [
    'absolute-form /admin',
    Buffer.from('GET http://gw.example/admin/x HTTP/1.1\r\nHost: gw.example\r\nConnection: close\r\n\r\n'),
  ],
  ['asterisk-form', Buffer.from('OPTIONS * HTTP/1.1\r\nHost: internal.example\r\nConnection: close\r\n\r\n')],
].map(([name, bytes]) => ({ name: name as string, bytes: bytes as Buffer }));

export const F19: Row = {
  id: 'F19',
  fault: 'path and Host confusion corpus vs a route protected by auth',
  async run(_profile, log) {
    const dp = await HostileDp.start();
    try {
      const from = dp.seen.length;
      const requests = [...TRAVERSAL_CORPUS.map((t) => ({ name: t, bytes: request(t) })), ...HOST_CORPUS];
      let bad = 0;
      const statuses = new Map<string, number>();
      for (const r of requests) {
        const x = await exchange(dp.port, r.bytes);
        const key = String(x.status ?? 'none');
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
        if (x.status === null || x.status >= 500) {
          bad++;
          log(`${r.name}: ${x.status ?? 'no answer'}`);
        }
      }
      const seen = dp.since(from);
      const protectedHits = seen.filter((s) => s.upstream === 'protected');
      const resolvedAdmin = seen.filter(
        (s) => s.upstream === 'echo' && laxUpstreamResolve(s.url).startsWith('/admin'),
      );
      for (const s of [...protectedHits, ...resolvedAdmin].slice(0, 10))
        log(`bypass: ${s.upstream} got ${s.method} ${s.url}`);
      // The instrument: a keyed request does reach the protected upstream.
      const before = dp.seen.length;
      const keyed = await exchange(
        dp.port,
        request('/public/%2e%2e/admin/x', [`apikey: ${dp.secrets.apiKey}`]),
      );
      const keyedSeen = dp.since(before).some((s) => s.upstream === 'protected' && s.url === '/admin/x');
      log(
        `${requests.length} requests: ${[...statuses].map(([s, n]) => `${n}×${s}`).join(', ')}; upstream got ${seen.length}; keyed control ${keyed.status}`,
      );
      return [
        exactly('bypasses', protectedHits.length + resolvedAdmin.length, 0, requests.length),
        exactly('protected-upstream hits', protectedHits.length, 0),
        exactly('5xx or no answer', bad, 0, requests.length),
        holds('a keyed request reaches the protected upstream (control)', keyedSeen),
      ];
    } finally {
      await dp.close();
    }
  },
};

export const F20: Row = {
  id: 'F20',
  fault: 'hop-by-hop, XFF, identity, Upgrade, Expect headers',
  async run(_profile, log) {
    const dp = await HostileDp.start();
    try {
      let leaked = 0;
      let answered = 0;
      for (const c of HEADER_CASES) {
        const from = dp.seen.length;
        const key = c.route === 'auth' ? [`apikey: ${dp.secrets.apiKey}`] : [];
        const x = await exchange(
          dp.port,
          request(c.route === 'auth' ? '/auth' : '/echo', [...c.lines, ...key], {
            method: c.body ? 'POST' : 'GET',
            body: c.body,
          }),
        );
        const got = dp.since(from);
        if (x.status !== null && x.status < 500) answered++;
        const wrong: string[] = [];
        for (const s of got) {
          const names = headerNames(s);
          for (const n of c.absent)
            if (names.includes(n)) wrong.push(`${n}: ${headerValues(s, n).join(', ')}`);
          for (const [n, text] of c.notContaining ?? [])
            if (headerValues(s, n).some((v) => v.includes(text)))
              wrong.push(`${n}: ${headerValues(s, n).join(', ')}`);
          for (const n of c.lastEntryIsPeer ?? []) {
            const values = headerValues(s, n);
            if (values.length !== 1 || values[0]!.split(',').at(-1)!.trim() !== '127.0.0.1')
              wrong.push(`${n}: ${values.join(' | ') || '(none)'}`);
          }
        }
        if (wrong.length > 0) {
          leaked++;
          log(`${c.name}: upstream got ${wrong.join('; ')}`);
        }
        if (got.length === 0)
          log(`${c.name}: answered ${x.status ?? 'nothing'} without reaching the upstream`);
      }
      // Rate limiting by IP: X-Forwarded-For fixed, then rotated on each request, 3× the limit each.
      const count429 = async (path: string, xff: (i: number) => string): Promise<number> => {
        let n = 0;
        for (let i = 0; i < 3 * RATE_LIMIT; i++) {
          const x = await exchange(dp.port, request(path, [`X-Forwarded-For: ${xff(i)}`]));
          if (x.status === 429) n++;
        }
        return n;
      };
      const fixed = await count429('/rl-same', () => '203.0.113.9');
      const rotated = await count429('/rl-rotate', (i) => `203.0.113.${i + 10}`);
      log(
        `${HEADER_CASES.length} cases, ${answered} answered below 500; 429s fixed XFF ${fixed}, rotated ${rotated}`,
      );
      return [
        exactly('cases with a forbidden header upstream', leaked, 0, HEADER_CASES.length),
        exactly('cases answered 5xx or not at all', HEADER_CASES.length - answered, 0),
        exactly(`429s with XFF rotated (fixed: ${fixed} of ${3 * RATE_LIMIT})`, rotated, fixed),
        exactly('429s with XFF fixed', fixed, 2 * RATE_LIMIT),
      ];
    } finally {
      await dp.close();
    }
  },
};

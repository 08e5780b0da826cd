/**
 * Property: whatever a DNS server answers — random bytes, truncated or mismatched packets, huge
 * or zero TTLs, zero or huge SRV weights, odd ports, no records, thousands of records — the
 * resolver never throws, its answer is bounded and well formed, and a data plane compiles and
 * serves with it (a host-name target balanced over the answer, or 503 when nothing is usable).
 */
import type { AddressInfo } from 'node:net';
import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeConfig, createLogger } from '@gatehouse/shared';
import { DnsResolver, MAX_RECORDS } from '../../data-plane/src/dns/resolver.js';
import { dnsSettings } from '../../data-plane/src/dns/settings.js';
import { ProxyServer } from '../../data-plane/src/proxy/proxy-server.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { call, route, service } from '../proxy/helpers.js';
import { target, upstream } from '../balancer/fixtures.js';

const logger = createLogger('dns-hostile-test', { level: 'silent' });

const ttl = fc.oneof(fc.constant(0), fc.constant(0xffffffff), fc.integer({ min: 0, max: 0xffffffff }));
const ipv4 = fc.ipV4();
const answer = fc.oneof(
  fc.record({ type: fc.constant('A' as const), data: ipv4, ttl }),
  fc.record({ type: fc.constant('AAAA' as const), data: fc.ipV6(), ttl }),
  fc.record({
    type: fc.constant('SRV' as const),
    ttl,
    data: fc.record({
      target: fc.oneof(ipv4, fc.constant('t.hostile.test'), fc.constant('.'), fc.domain()),
      port: fc.integer({ min: 0, max: 65535 }),
      weight: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 65535 })),
      priority: fc.integer({ min: 0, max: 65535 }),
    }),
  }),
  fc.record({ type: fc.constant('CNAME' as const), data: fc.domain(), ttl }),
);

/** What the hostile server sends back for one question. */
const reply = fc.oneof(
  // a well-formed answer with arbitrary records and rcode
  fc.record({
    kind: fc.constant('packet' as const),
    rcode: fc.integer({ min: 0, max: 15 }),
    answers: fc.array(answer, { maxLength: 40 }),
    many: fc.boolean(),
    wrongId: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 600 }) }),
  fc.record({ kind: fc.constant('truncated' as const), cut: fc.integer({ min: 0, max: 40 }) }),
);
type Reply = typeof reply extends fc.Arbitrary<infer T> ? T : never;

function respond(r: Reply, query: dnsPacket.Packet | null): Buffer | null {
  if (query === null) return null;
  const q = query.questions![0]!;
  if (r.kind === 'bytes') return Buffer.from(r.bytes);
  const base = dnsPacket.encode({
    type: 'response',
    id: query.id,
    flags: 0,
    questions: [q],
    answers: [{ type: 'A', name: q.name, ttl: 5, data: '127.0.0.1' }],
  });
  if (r.kind === 'truncated') return base.subarray(0, Math.min(base.length, r.cut));
  const answers = r.many
    ? Array.from({ length: 600 }, (_, i) => ({
        type: 'A' as const,
        name: q.name,
        ttl: 5,
        data: `10.0.${i >> 8}.${i & 255}`,
      }))
    : r.answers.map((a) => ({ ...a, name: q.name }));
  try {
    return dnsPacket.encode({
      type: 'response',
      id: r.wrongId ? (query.id! + 1) & 0xffff : query.id,
      flags: r.rcode,
      questions: [q],
      answers: answers,
    });
  } catch {
    return Buffer.from([0xde, 0xad]);
  }
}

describe('hostile DNS answers', () => {
  let dns: TestDnsServer;
  let proxy: ProxyServer;
  let resolver: DnsResolver;
  let port: number;

  beforeAll(async () => {
    dns = await startDnsServer();
    resolver = new DnsResolver(
      { ...dnsSettings({ resolver: dns.address }), hostsFile: null, timeoutMs: 50, attempts: 1 },
      { logger },
    );
    proxy = new ProxyServer({ logger, dns: resolver });
    await proxy.listen(0, '127.0.0.1');
    port = (proxy.server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await proxy.close();
    await dns.close();
  });

  it('never crash the resolver or the data plane', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(reply, async (r) => {
        dns.raw = (query) => respond(r, query);
        n++;
        const name = `h${n}.hostile.test`;
        const answer = await resolver.resolve(name);
        expect(answer.records.length).toBeLessThanOrEqual(MAX_RECORDS);
        for (const rec of answer.records) {
          expect(rec.address).toMatch(/^[0-9a-f.:]+$/i);
          if (rec.port !== null) expect(rec.port).toBeGreaterThan(0);
          if (answer.srv) expect(rec.weight).toBeGreaterThan(0);
        }
        const up = upstream(`u${n}`, `pool${n}.test`, { tags: ['gatehouse:half-open=0'] });
        const config = completeConfig({
          services: [
            service('s-up', 80, { host: up.name, retries: 0, connect_timeout: 200 }),
            service('s-host', 1, { host: name, retries: 0, connect_timeout: 200 }),
          ],
          routes: [
            route('r-up', 's-up', { paths: ['/up'] }),
            route('r-host', 's-host', { paths: ['/host'] }),
          ],
          upstreams: [up],
          targets: [target(`t${n}`, up.id, `${name}:1`)],
        });
        proxy.apply(config);
        for (const path of ['/up', '/host']) {
          const res = await call(port, path);
          // an address that refuses (502), none usable (503), or one that answers: never a 500
          expect([200, 404, 502, 503, 504]).toContain(res.status);
        }
      }),
      {
        numRuns: 60,
        examples: [
          [{ kind: 'packet', rcode: 0, answers: [], many: false, wrongId: false }],
          [{ kind: 'packet', rcode: 0, answers: [], many: true, wrongId: false }],
          [
            {
              kind: 'packet',
              rcode: 0,
              many: false,
              wrongId: false,
              answers: [
                {
                  type: 'SRV',
                  ttl: 0xffffffff,
                  data: { target: '127.0.0.1', port: 0, weight: 0, priority: 0 },
                },
              ],
            },
          ],
          [{ kind: 'bytes', bytes: new Uint8Array() }],
        ],
      },
    );
    dns.raw = null;
  });
});

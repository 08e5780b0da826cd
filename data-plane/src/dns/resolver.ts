/**
 * The data plane's DNS resolver (Kong's `kong/resty/dns/client.lua`, reduced to what balancing
 * needs): A, AAAA and SRV answers (SRV with port, weight and priority) over UDP with `dns-packet`,
 * cached for their TTL and refreshed in the background, never on the request path.
 *
 * - `peek(name)` is what compiling a configuration reads: the cached answer or null, no I/O.
 * - `track(names)` (at swap time) keeps exactly those names fresh: each gets a timer at its
 *   expiry that queries again; listeners (`onChange`) hear of a name whose records changed, and
 *   the proxy recompiles what it serves.
 * - `resolve(name)` / `prime(names)` query now (a worker does it before compiling a new config,
 *   so the first requests find the name resolved).
 *
 * An expired answer that cannot be refreshed (server down, timeouts, SERVFAIL) keeps being served
 * for `staleTtl` seconds (Kong's `dns_stale_ttl`) while queries are retried every `errorTtl`; a
 * name that does not exist (NXDOMAIN, or no record of any type) is kept as such for
 * `notFoundTtl`. Names in the hosts file (Kong's `dns_hostsfile`) are answered from it. Every
 * answer is bounded (MAX_RECORDS), TTLs are clamped to [MIN_TTL_S, MAX_TTL_S] (a TTL of 0 is
 * refreshed every second: there are no per-request queries), a packet that does not decode is
 * ignored.
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import dnsPacket from 'dns-packet';
import type { Logger } from '@gatehouse/shared';
import type { DnsRecordType, DnsServer, DnsSettings } from './settings.js';

/** One address an answer gives: SRV records carry a port (null: A/AAAA) and a weight. */
export interface DnsRecord {
  readonly address: string;
  readonly port: number | null;
  readonly weight: number;
}

export interface DnsAnswer {
  /** Empty when the name did not resolve (see `error`). */
  readonly records: readonly DnsRecord[];
  /** From SRV records (ports and weights come from DNS). */
  readonly srv: boolean;
  /** Why there are no records ('name error', 'empty record', or the query failure); null when resolved. */
  readonly error: string | null;
  /** Served past its TTL because the refresh failed (dns_stale_ttl). */
  readonly stale: boolean;
}

export const MAX_RECORDS = 256;
export const MIN_TTL_S = 1;
/** One day: a longer TTL is refreshed daily (and node timers cannot wait longer than ~24.8 days). */
export const MAX_TTL_S = 86_400;
/** SRV targets resolved to addresses per answer (the rest are dropped). */
const MAX_SRV_TARGETS = 32;

type Outcome =
  | { kind: 'records'; records: DnsRecord[]; ttl: number; srv: boolean }
  | { kind: 'none'; reason: string }
  | { kind: 'error'; reason: string };

interface Entry {
  answer: DnsAnswer | null;
  /** Records as a sorted string, to tell a change. */
  key: string;
  /** When the records' TTL ends (ms, Date.now clock); stale answers are kept until + staleTtl. */
  expiresAt: number;
  /** When to query again. */
  refreshAt: number;
  timer: NodeJS.Timeout | null;
  pending: Promise<DnsAnswer> | null;
  /** Kong's LAST: the record type that last answered this name. */
  lastType: DnsRecordType | null;
}

export interface DnsStats {
  queries: number;
  /** Queries that failed (timeout, server failure, undecodable or refused answers). */
  errors: number;
  /** Refreshes that failed while an expired answer kept being served. */
  staleServed: number;
}

export type DnsChangeListener = (name: string, answer: DnsAnswer) => void;

/** The addresses of a hosts file, by lower-cased name. */
export function parseHostsFile(text: string): Map<string, { A: string[]; AAAA: string[] }> {
  const out = new Map<string, { A: string[]; AAAA: string[] }>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') continue;
    const [address, ...names] = line.split(/\s+/);
    const family = isIP(address!.replace(/%.*$/, ''));
    if (family === 0) continue;
    for (const n of names) {
      const name = n.toLowerCase();
      let e = out.get(name);
      if (e === undefined) out.set(name, (e = { A: [], AAAA: [] }));
      const list = family === 4 ? e.A : e.AAAA;
      if (!list.includes(address!)) list.push(address!);
    }
  }
  return out;
}

function recordsKey(records: readonly DnsRecord[]): string {
  return records
    .map((r) => `${r.address}/${r.port ?? ''}/${r.weight}`)
    .sort()
    .join(',');
}

function clampTtl(ttl: number): number {
  return Math.min(MAX_TTL_S, Math.max(MIN_TTL_S, Number.isFinite(ttl) ? ttl : MIN_TTL_S));
}

export interface DnsResolverOptions {
  logger?: Logger;
}

export class DnsResolver {
  private readonly entries = new Map<string, Entry>();
  private readonly hosts: Map<string, { A: string[]; AAAA: string[] }>;
  private readonly listeners = new Set<DnsChangeListener>();
  private tracked = new Set<string>();
  private closed = false;
  private nextId = 1;
  readonly stats: DnsStats = { queries: 0, errors: 0, staleServed: 0 };

  constructor(
    readonly settings: DnsSettings,
    private readonly options: DnsResolverOptions = {},
  ) {
    let text = '';
    if (settings.hostsFile !== null) {
      try {
        text = readFileSync(settings.hostsFile, 'utf8');
      } catch (err) {
        options.logger?.warn({ err, file: settings.hostsFile }, 'dns hosts file not read');
      }
    }
    this.hosts = parseHostsFile(text);
  }

  /** The answer for `name` from the hosts file or the cache; null when never resolved. No I/O. */
  peek(name: string): DnsAnswer | null {
    const n = name.toLowerCase();
    return this.fromHosts(n) ?? this.entries.get(n)?.answer ?? null;
  }

  onChange(listener: DnsChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Keeps exactly `names` fresh (background refresh at each expiry); the others' timers stop and
   * their answers are forgotten. Names not resolved yet are resolved now, in the background.
   */
  track(names: Iterable<string>): void {
    const next = new Set<string>();
    for (const name of names) next.add(name.toLowerCase());
    for (const n of this.tracked) {
      if (next.has(n)) continue;
      const e = this.entries.get(n);
      if (e?.timer != null) clearTimeout(e.timer);
      this.entries.delete(n);
    }
    this.tracked = next;
    for (const n of next) {
      if (this.fromHosts(n) !== null) continue;
      const e = this.entries.get(n);
      if (e === undefined || e.answer === null) void this.resolve(n);
      else this.schedule(n, e);
    }
  }

  /** Resolves `name` now unless its answer is still fresh (then that answer). Never rejects. */
  resolve(name: string): Promise<DnsAnswer> {
    const n = name.toLowerCase();
    const hosts = this.fromHosts(n);
    if (hosts !== null) return Promise.resolve(hosts);
    let e = this.entries.get(n);
    if (e === undefined) {
      e = { answer: null, key: '', expiresAt: 0, refreshAt: 0, timer: null, pending: null, lastType: null };
      this.entries.set(n, e);
    }
    if (e.answer !== null && Date.now() < e.refreshAt) return Promise.resolve(e.answer);
    return (e.pending ??= this.refresh(n, e));
  }

  /** Resolves every name not fresh yet, waiting at most `timeoutMs` in all. */
  async prime(names: Iterable<string>, timeoutMs: number): Promise<void> {
    const all = [...new Set([...names].map((n) => n.toLowerCase()))].map((n) => this.resolve(n));
    if (all.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(all),
      new Promise<void>((r) => {
        timer = setTimeout(r, timeoutMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
  }

  close(): void {
    this.closed = true;
    for (const e of this.entries.values()) if (e.timer !== null) clearTimeout(e.timer);
    this.entries.clear();
    this.tracked.clear();
    this.listeners.clear();
  }

  private fromHosts(name: string): DnsAnswer | null {
    const h = this.hosts.get(name);
    if (h === undefined) return null;
    for (const type of this.settings.order) {
      const list = type === 'A' ? h.A : type === 'AAAA' ? h.AAAA : null;
      if (list === null || list.length === 0) continue;
      return {
        records: list.map((address) => ({ address, port: null, weight: 0 })),
        srv: false,
        error: null,
        stale: false,
      };
    }
    return null;
  }

  private async refresh(name: string, e: Entry): Promise<DnsAnswer> {
    let outcome: Outcome;
    try {
      outcome = await this.lookup(name, e);
    } catch (err) {
      outcome = { kind: 'error', reason: (err as Error).message };
    }
    e.pending = null;
    const now = Date.now();
    let answer: DnsAnswer;
    if (outcome.kind === 'records') {
      const ttl = clampTtl(this.settings.validTtl ?? outcome.ttl);
      answer = { records: outcome.records, srv: outcome.srv, error: null, stale: false };
      e.expiresAt = now + ttl * 1000;
      e.refreshAt = e.expiresAt;
    } else if (outcome.kind === 'none') {
      answer = { records: [], srv: false, error: outcome.reason, stale: false };
      e.expiresAt = now;
      e.refreshAt = now + clampTtl(this.settings.notFoundTtl) * 1000;
    } else {
      const previous = e.answer;
      const stale =
        previous !== null && previous.records.length > 0 && now < e.expiresAt + this.settings.staleTtl * 1000;
      if (stale) this.stats.staleServed++;
      this.options.logger?.warn(
        { name, reason: outcome.reason, stale },
        stale ? 'dns refresh failed; serving the expired answer' : 'dns resolution failed',
      );
      answer = stale
        ? { ...previous, stale: true }
        : { records: [], srv: false, error: outcome.reason, stale: false };
      e.refreshAt = now + clampTtl(this.settings.errorTtl) * 1000;
    }
    e.answer = answer;
    const key = recordsKey(answer.records);
    const changed = key !== e.key;
    e.key = key;
    if (this.closed || this.entries.get(name) !== e) return answer;
    if (this.tracked.has(name)) this.schedule(name, e);
    if (changed) for (const l of this.listeners) l(name, answer);
    return answer;
  }

  private schedule(name: string, e: Entry): void {
    if (e.timer !== null) clearTimeout(e.timer);
    const delay = Math.max(0, e.refreshAt - Date.now());
    e.timer = setTimeout(() => {
      e.timer = null;
      if (this.entries.get(name) === e && e.pending === null) e.pending = this.refresh(name, e);
    }, delay);
    e.timer.unref();
  }

  /** Tries the record types in `dns_order` (LAST first when known). */
  private async lookup(name: string, e: Entry): Promise<Outcome> {
    const order: ('SRV' | 'A' | 'AAAA')[] = [];
    for (const t of this.settings.order) {
      const type = t === 'LAST' ? e.lastType : t;
      if (type !== null && type !== 'CNAME' && type !== 'LAST' && !order.includes(type)) order.push(type);
    }
    let error: string | null = null;
    let none = 'name error';
    for (const type of order) {
      const o = type === 'SRV' ? await this.srv(name) : await this.addresses(name, type);
      if (o.kind === 'records') {
        e.lastType = type;
        return o;
      }
      if (o.kind === 'error') error ??= o.reason;
      else none = o.reason;
    }
    return error === null ? { kind: 'none', reason: none } : { kind: 'error', reason: error };
  }

  private async addresses(name: string, type: 'A' | 'AAAA'): Promise<Outcome> {
    const r = await this.query(name, type);
    if (r.kind !== 'packet') return r;
    const records: DnsRecord[] = [];
    let ttl = Infinity;
    for (const a of r.packet.answers ?? []) {
      if (a.type !== type || typeof a.data !== 'string' || isIP(a.data) === 0) continue;
      if (records.length >= MAX_RECORDS) break;
      if (records.some((x) => x.address === a.data)) continue;
      records.push({ address: a.data, port: null, weight: 0 });
      ttl = Math.min(ttl, a.ttl ?? 0);
    }
    if (records.length === 0) return { kind: 'none', reason: 'empty record' };
    return { kind: 'records', records, ttl, srv: false };
  }

  private async srv(name: string): Promise<Outcome> {
    const r = await this.query(name, 'SRV');
    if (r.kind !== 'packet') return r;
    type Srv = { target: string; port: number; weight: number; priority: number; ttl: number };
    const all: Srv[] = [];
    for (const a of r.packet.answers ?? []) {
      if (a.type !== 'SRV' || typeof a.data !== 'object' || a.data === null) continue;
      const d = a.data as { target?: unknown; port?: unknown; weight?: unknown; priority?: unknown };
      if (typeof d.target !== 'string' || d.target === '' || d.target === '.') continue;
      all.push({
        target: d.target.toLowerCase(),
        port: Number(d.port) || 0,
        weight: Number(d.weight) || 0,
        priority: Number(d.priority) || 0,
        ttl: a.ttl ?? 0,
      });
      if (all.length >= MAX_RECORDS) break;
    }
    if (all.length === 0) return { kind: 'none', reason: 'empty record' };
    // Kong: only the entries of the highest priority (lowest value) are used.
    const best = Math.min(...all.map((s) => s.priority));
    const used = all.filter((s) => s.priority === best);
    const glue = new Map<string, string[]>();
    for (const a of r.packet.additionals ?? []) {
      if ((a.type !== 'A' && a.type !== 'AAAA') || typeof a.data !== 'string' || isIP(a.data) === 0) continue;
      const k = a.name.toLowerCase();
      const list = glue.get(k) ?? [];
      list.push(a.data);
      glue.set(k, list);
    }
    const records: DnsRecord[] = [];
    let ttl = Infinity;
    const targets = new Map<string, string[]>();
    for (const s of used) {
      let addresses = targets.get(s.target);
      if (addresses === undefined) {
        if (targets.size >= MAX_SRV_TARGETS) continue;
        addresses =
          isIP(s.target) !== 0 ? [s.target] : (glue.get(s.target) ?? (await this.targetAddresses(s.target)));
        targets.set(s.target, addresses);
      }
      for (const address of addresses) {
        if (records.length >= MAX_RECORDS) break;
        // RFC 2782: weight 0 is a rarely chosen entry; a balancer weight must be positive.
        records.push({ address, port: s.port === 0 ? null : s.port, weight: Math.max(1, s.weight) });
      }
      ttl = Math.min(ttl, s.ttl);
    }
    if (records.length === 0) return { kind: 'none', reason: 'empty record' };
    return { kind: 'records', records, ttl, srv: true };
  }

  /** The A (else AAAA) addresses of an SRV target that came without glue. */
  private async targetAddresses(target: string): Promise<string[]> {
    const hosts = this.fromHosts(target);
    if (hosts !== null) return hosts.records.map((r) => r.address);
    for (const type of ['A', 'AAAA'] as const) {
      const o = await this.addresses(target, type);
      if (o.kind === 'records') return o.records.map((r) => r.address);
    }
    return [];
  }

  /** One question to the servers in order, each tried `attempts` times. */
  private async query(
    name: string,
    type: 'A' | 'AAAA' | 'SRV',
  ): Promise<{ kind: 'packet'; packet: dnsPacket.Packet } | { kind: 'none' | 'error'; reason: string }> {
    let reason = 'no name server';
    for (const server of this.settings.servers) {
      for (let i = 0; i < Math.max(1, this.settings.attempts); i++) {
        if (this.closed) return { kind: 'error', reason: 'resolver closed' };
        this.stats.queries++;
        const r = await this.exchange(server, name, type);
        if (r.kind === 'packet') {
          // RCODE: the low four bits of the flags (3: NXDOMAIN).
          const rcode = (r.packet.flags ?? 0) & 15;
          if (rcode === 3) return { kind: 'none', reason: 'name error' };
          if (rcode === 0) return r;
          this.stats.errors++;
          reason = `server error ${rcode}`;
          break; // a server that answers with an error is not asked again
        }
        this.stats.errors++;
        reason = r.reason;
      }
    }
    return { kind: 'error', reason };
  }

  private exchange(
    server: DnsServer,
    name: string,
    type: 'A' | 'AAAA' | 'SRV',
  ): Promise<{ kind: 'packet'; packet: dnsPacket.Packet } | { kind: 'error'; reason: string }> {
    const id = (this.nextId = (this.nextId % 65535) + 1);
    const question = dnsPacket.encode({
      type: 'query',
      id,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type, name, class: 'IN' }],
    });
    return new Promise((resolve) => {
      const socket = dgram.createSocket(isIP(server.host) === 6 ? 'udp6' : 'udp4');
      let done = false;
      const finish = (
        r: { kind: 'packet'; packet: dnsPacket.Packet } | { kind: 'error'; reason: string },
      ): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        socket.close();
        resolve(r);
      };
      const timer = setTimeout(() => finish({ kind: 'error', reason: 'timeout' }), this.settings.timeoutMs);
      timer.unref();
      socket.unref();
      socket.on('error', (err) => finish({ kind: 'error', reason: err.message }));
      socket.on('message', (msg, rinfo) => {
        if (rinfo.address !== server.host || rinfo.port !== server.port) return;
        let packet: dnsPacket.Packet;
        try {
          packet = dnsPacket.decode(msg);
        } catch {
          return; // not a DNS answer: keep waiting for one (or the timeout)
        }
        if (packet.id !== id || packet.type !== 'response') return;
        const q = packet.questions?.[0];
        if (q !== undefined && (q.name.toLowerCase() !== name.toLowerCase() || q.type !== type)) return;
        finish({ kind: 'packet', packet });
      });
      socket.send(question, server.port, server.host, (err) => {
        if (err) finish({ kind: 'error', reason: err.message });
      });
    });
  }
}

/**
 * A small authoritative DNS server over UDP for tests (the same `dns-packet` library as the data
 * plane's resolver): records are set and changed while it runs, it can stop answering (`down`),
 * answer with raw bytes (`raw`, hostile packets) and counts the questions it got.
 */
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';

export interface TestSrv {
  target: string;
  port: number;
  weight?: number;
  priority?: number;
}

export interface TestZoneEntry {
  A?: string[];
  AAAA?: string[];
  SRV?: TestSrv[];
  ttl?: number;
}

export interface TestDnsServer {
  readonly port: number;
  /** `127.0.0.1:<port>`, for `--dns-resolver` / DnsSettings. */
  readonly address: string;
  /** Sets (replaces) a name's records; undefined removes the name (NXDOMAIN). */
  set(name: string, entry: TestZoneEntry | undefined): void;
  /** While true, questions are dropped (the client times out). */
  down: boolean;
  /** When set, answers every question with these bytes (from the question's packet). */
  raw: ((question: dnsPacket.Packet | null, msg: Buffer) => Buffer | null) | null;
  /** Questions received, as `TYPE name`. */
  readonly questions: string[];
  close(): Promise<void>;
}

export async function startDnsServer(): Promise<TestDnsServer> {
  const zone = new Map<string, TestZoneEntry>();
  const socket = dgram.createSocket('udp4');
  const questions: string[] = [];
  const server: TestDnsServer = {
    port: 0,
    address: '',
    set(name, entry) {
      if (entry === undefined) zone.delete(name.toLowerCase());
      else zone.set(name.toLowerCase(), entry);
    },
    down: false,
    raw: null,
    questions,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
  socket.on('message', (msg, rinfo) => {
    let query: dnsPacket.Packet | null = null;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      query = null;
    }
    const q = query?.questions?.[0];
    if (q !== undefined) questions.push(`${q.type} ${q.name}`);
    if (server.down) return;
    if (server.raw !== null) {
      const bytes = server.raw(query, msg);
      if (bytes !== null) socket.send(bytes, rinfo.port, rinfo.address);
      return;
    }
    if (query === null || q === undefined) return;
    const entry = zone.get(q.name.toLowerCase());
    const ttl = entry?.ttl ?? 60;
    const answers: dnsPacket.Answer[] = [];
    if (entry !== undefined) {
      if (q.type === 'A')
        for (const a of entry.A ?? []) answers.push({ type: 'A', name: q.name, ttl, data: a });
      if (q.type === 'AAAA')
        for (const a of entry.AAAA ?? []) answers.push({ type: 'AAAA', name: q.name, ttl, data: a });
      if (q.type === 'SRV')
        for (const s of entry.SRV ?? [])
          answers.push({
            type: 'SRV',
            name: q.name,
            ttl,
            data: { target: s.target, port: s.port, weight: s.weight ?? 1, priority: s.priority ?? 10 },
          });
    }
    const response = dnsPacket.encode({
      type: 'response',
      id: query.id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | (entry === undefined ? 3 : 0),
      questions: [q],
      answers,
    });
    socket.send(response, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const port = socket.address().port;
  Object.assign(server, { port, address: `127.0.0.1:${port}` });
  return server;
}

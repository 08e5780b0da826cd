/**
 * IPv4/IPv6 address parsing and CIDR sets, compiled once (at config swap) and matched per request
 * without allocation beyond parsing the address. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are
 * IPv4 addresses: they match IPv4 CIDRs, and `::ffff:0:0/96`-style CIDRs are IPv4 CIDRs. An IPv6
 * CIDR outside that range never matches an IPv4 client (as nginx's realip / Kong's ipmatcher).
 */

export interface ParsedIp {
  readonly family: 4 | 6;
  /** IPv4: the address as an unsigned 32-bit number (0 for IPv6). */
  readonly v4: number;
  /** IPv6: four big-endian 32-bit words (null for IPv4). */
  readonly v6: Uint32Array | null;
}

function parseV4Words(text: string): number | null {
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i === text.length ? 46 /* . */ : text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part > 255) return null;
      value = value * 256 + part;
      parts++;
      part = 0;
      digits = 0;
      continue;
    }
    if (c < 48 || c > 57) return null;
    // No leading zeros: "010" would be octal to some parsers.
    if (digits === 1 && part === 0) return null;
    part = part * 10 + (c - 48);
    digits++;
    if (digits > 3) return null;
  }
  return parts === 4 ? value >>> 0 : null;
}

function parseV6Words(input: string): Uint32Array | null {
  let text = input;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  if (text.length < 2 || text.length > 45) return null;
  const groups: number[] = [];
  let gap = -1;
  let tail: number | null = null;
  let i = 0;
  if (text.startsWith('::')) {
    gap = 0;
    i = 2;
    if (i === text.length) return new Uint32Array(4);
  } else if (text.charCodeAt(0) === 58) return null;
  while (i < text.length) {
    let end = text.indexOf(':', i);
    if (end < 0) end = text.length;
    const piece = text.slice(i, end);
    if (piece.includes('.')) {
      // Embedded IPv4 tail: must be the last piece.
      if (end !== text.length) return null;
      tail = parseV4Words(piece);
      if (tail === null) return null;
    } else {
      if (piece.length === 0 || piece.length > 4) return null;
      let g = 0;
      for (let k = 0; k < piece.length; k++) {
        const h = hexValue(piece.charCodeAt(k));
        if (h < 0) return null;
        g = g * 16 + h;
      }
      groups.push(g);
    }
    if (end === text.length) break;
    if (text.charCodeAt(end + 1) === 58) {
      if (gap >= 0) return null;
      gap = groups.length;
      i = end + 2;
      if (i === text.length) break;
    } else {
      i = end + 1;
      if (i === text.length) return null;
    }
  }
  if (tail !== null) groups.push(tail >>> 16, tail & 0xffff);
  if (gap < 0 ? groups.length !== 8 : groups.length > 7) return null;
  const full = new Array<number>(8).fill(0);
  if (gap < 0) for (let k = 0; k < 8; k++) full[k] = groups[k]!;
  else {
    for (let k = 0; k < gap; k++) full[k] = groups[k]!;
    const after = groups.length - gap;
    for (let k = 0; k < after; k++) full[8 - after + k] = groups[gap + k]!;
  }
  const words = new Uint32Array(4);
  for (let k = 0; k < 4; k++) words[k] = ((full[2 * k]! << 16) | full[2 * k + 1]!) >>> 0;
  return words;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function isV4Mapped(w: Uint32Array): boolean {
  return w[0] === 0 && w[1] === 0 && w[2] === 0xffff;
}

/** Parses an IPv4 or IPv6 address (an IPv4-mapped IPv6 address becomes IPv4); null if invalid. */
export function parseIp(text: string): ParsedIp | null {
  if (text.includes(':')) {
    const w = parseV6Words(text);
    if (w === null) return null;
    if (isV4Mapped(w)) return { family: 4, v4: w[3]!, v6: null };
    return { family: 6, v4: 0, v6: w };
  }
  const v4 = parseV4Words(text);
  return v4 === null ? null : { family: 4, v4, v6: null };
}

/** The canonical text of an address: dotted quad, or RFC 5952 compressed lower-case IPv6. */
export function formatIp(ip: ParsedIp): string {
  if (ip.family === 4) {
    const v = ip.v4;
    return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  }
  const w = ip.v6!;
  const g: number[] = [];
  for (let k = 0; k < 4; k++) g.push(w[k]! >>> 16, w[k]! & 0xffff);
  // Longest run (>= 2) of zero groups, first one on ties.
  let best = -1;
  let bestLen = 1;
  for (let k = 0; k < 8;) {
    if (g[k] !== 0) {
      k++;
      continue;
    }
    let e = k;
    while (e < 8 && g[e] === 0) e++;
    if (e - k > bestLen) {
      best = k;
      bestLen = e - k;
    }
    k = e;
  }
  const hex = (a: number, b: number): string =>
    g
      .slice(a, b)
      .map((x) => x.toString(16))
      .join(':');
  if (best < 0) return hex(0, 8);
  return `${hex(0, best)}::${hex(best + bestLen, 8)}`;
}

/** `text` in canonical form, or null when it is not an IP address. */
export function canonicalIp(text: string): string | null {
  const ip = parseIp(text);
  return ip === null ? null : formatIp(ip);
}

interface Cidr {
  readonly family: 4 | 6;
  readonly prefix: number;
  readonly v4: number;
  readonly v6: Uint32Array | null;
}

function maskV4(v: number, prefix: number): number {
  return prefix === 0 ? 0 : (v & (0xffffffff << (32 - prefix))) >>> 0;
}

function maskV6(w: Uint32Array, prefix: number): Uint32Array {
  const out = new Uint32Array(4);
  for (let k = 0; k < 4; k++) {
    const bits = Math.min(32, Math.max(0, prefix - 32 * k));
    out[k] = maskV4(w[k]!, bits);
  }
  return out;
}

function v6Key(w: Uint32Array): string {
  return `${w[0]},${w[1]},${w[2]},${w[3]}`;
}

/** Parses `ip` or `ip/prefix`; null when invalid. Host bits are ignored. */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  let prefix: number | null = null;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    prefix = Number(p);
  }
  if (addrText.includes(':')) {
    const w = parseV6Words(addrText);
    if (w === null || addrText.includes('%')) return null;
    const bits = prefix ?? 128;
    if (bits > 128) return null;
    if (isV4Mapped(w) && bits >= 96) {
      return { family: 4, prefix: bits - 96, v4: maskV4(w[3]!, bits - 96), v6: null };
    }
    return { family: 6, prefix: bits, v4: 0, v6: maskV6(w, bits) };
  }
  const v4 = parseV4Words(addrText);
  if (v4 === null) return null;
  const bits = prefix ?? 32;
  if (bits > 32) return null;
  return { family: 4, prefix: bits, v4: maskV4(v4, bits), v6: null };
}

/** True when `text` is an IPv4/IPv6 address or CIDR block (Kong's `ip_or_cidr`). */
export function isIpOrCidr(text: string): boolean {
  return parseCidr(text) !== null;
}

/**
 * A set of CIDR blocks: per address family, one hash set of masked prefixes per distinct prefix
 * length, so a lookup costs one probe per distinct length, not one per block.
 */
export class CidrSet {
  private readonly v4: { prefix: number; keys: Set<number> }[] = [];
  private readonly v6: { prefix: number; keys: Set<string> }[] = [];
  readonly size: number;

  private constructor(blocks: readonly Cidr[]) {
    const v4 = new Map<number, Set<number>>();
    const v6 = new Map<number, Set<string>>();
    for (const b of blocks) {
      if (b.family === 4) {
        let s = v4.get(b.prefix);
        if (s === undefined) v4.set(b.prefix, (s = new Set()));
        s.add(b.v4);
      } else {
        let s = v6.get(b.prefix);
        if (s === undefined) v6.set(b.prefix, (s = new Set()));
        s.add(v6Key(b.v6!));
      }
    }
    // Longer prefixes first: the most specific blocks are the usual hits.
    for (const [prefix, keys] of [...v4].sort((a, b) => b[0] - a[0])) this.v4.push({ prefix, keys });
    for (const [prefix, keys] of [...v6].sort((a, b) => b[0] - a[0])) this.v6.push({ prefix, keys });
    this.size = blocks.length;
  }

  /**
   * Compiles a list of addresses / CIDR blocks. Throws a TypeError naming the first invalid
   * entry (configs are validated before they get here, so this is a programming error).
   */
  static compile(entries: readonly string[]): CidrSet {
    const blocks: Cidr[] = [];
    for (const e of entries) {
      const c = parseCidr(e.trim());
      if (c === null) throw new TypeError(`invalid ip or cidr range: '${e}'`);
      blocks.push(c);
    }
    return new CidrSet(blocks);
  }

  has(ip: ParsedIp): boolean {
    if (ip.family === 4) {
      for (const { prefix, keys } of this.v4) if (keys.has(maskV4(ip.v4, prefix))) return true;
      return false;
    }
    for (const { prefix, keys } of this.v6) if (keys.has(v6Key(maskV6(ip.v6!, prefix)))) return true;
    return false;
  }

  /** `has` for an address in text form; false when it is not an address. */
  hasText(text: string): boolean {
    const ip = parseIp(text);
    return ip !== null && this.has(ip);
  }
}

/**
 * The WAF engine: rules selected and compiled once per plugin instance (paranoia level, disabled
 * ids, exclusions), then `inspect` scores one request. Each value is transformed once per form
 * (transforms.ts) and every enabled rule of that form runs on it; a rule adds its severity's
 * score once per request (its first match is recorded). A value made only of letters, digits,
 * `_`, `.` and `-` can match no rule and is skipped without work.
 */
import {
  CHECK_RULES,
  PATTERN_RULES,
  SEVERITY_SCORE,
  type Category,
  type CheckRule,
  type PatternRule,
  type Transform,
} from './rules.js';
import { cmdForm, pathForm, sqlForm, textForm, urlDecode } from './transforms.js';
import type { WafConfig } from './schema.js';

/** Where a value came from: `path`, `args:<name>`, `args_names:<name>`, `headers:<name>`, `cookies:<name>`, `body`, `request`. */
export interface Match {
  readonly id: number;
  readonly category: Category;
  readonly severity: string;
  readonly location: string;
  /** At most EXCERPT_CHARS characters of what matched, then `…` and the full length. */
  readonly excerpt: string;
}

export interface Verdict {
  score: number;
  readonly matches: Match[];
}

export const EXCERPT_CHARS = 12;
/** Values taken from a JSON or form body at most; past it the body is also inspected whole. */
export const MAX_BODY_ARGS = 2048;
/** JSON nesting followed at most (deeper values are covered by the whole-body inspection). */
export const MAX_JSON_DEPTH = 64;

const SAFE = /^[\w.-]*$/;
const BAD_ENCODING = /%(?![0-9a-fA-F]{2}|[uU][0-9a-fA-F]{4})/;
// eslint-disable-next-line no-control-regex -- control characters are what the check looks for
const CONTROL = /[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]/;
const NON_PRINTABLE = /[^\x20-\x7e]/;
const STRICT_QUERY = /[^a-zA-Z0-9\-._~%&=+/]/;
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/** Headers never inspected by the attack rules (framing, credentials, content negotiation). */
const HEADER_SKIP = new Set([
  'authorization',
  'proxy-authorization',
  'host',
  'content-length',
  'content-type',
  'transfer-encoding',
  'connection',
  'accept',
  'accept-encoding',
  'accept-language',
  'accept-charset',
  'cookie',
  'if-none-match',
  'if-match',
  'if-modified-since',
  'if-unmodified-since',
  'cache-control',
  'pragma',
  'te',
  'upgrade',
  'keep-alive',
  'sec-websocket-key',
  'sec-websocket-extensions',
  'sec-websocket-protocol',
]);
/** Headers the attack rules inspect at paranoia level 1 (as CRS: User-Agent, Referer, cookies). */
const HEADER_PL1 = new Set(['user-agent', 'referer']);
/** Rules that inspect every header at any level (Shellshock, header injection). */
const ALL_HEADER_RULES = new Set([932130, 921120]);

interface Compiled {
  readonly rule: PatternRule;
  readonly re: RegExp;
  readonly score: number;
}

interface Exclusion {
  all: boolean;
  readonly ids: Set<number>;
  readonly categories: Set<Category>;
}

export interface WafRequest {
  readonly method: string;
  readonly rawPath: string;
  readonly rawQuery: string;
  readonly query: URLSearchParams;
  readonly headers: Readonly<Record<string, string[]>>;
}

export interface WafBody {
  readonly contentType: string;
  readonly text: string;
}

function excerptOf(s: string): string {
  return s.length <= EXCERPT_CHARS ? s : `${s.slice(0, EXCERPT_CHARS)}… (${s.length} chars)`;
}

/** Splits a Cookie header into [name, value] pairs (no decoding; at most 256). */
function cookiePairs(header: string): [string, string][] {
  const out: [string, string][] = [];
  for (const part of header.split(';', 256)) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    out.push([part.slice(0, eq).trim(), part.slice(eq + 1).trim()]);
  }
  return out;
}

export class WafEngine {
  private readonly byForm: Record<Transform, Compiled[]>;
  /** The rules of ALL_HEADER_RULES that are enabled, by form (headers not inspected in full). */
  private readonly headerForm: Record<Transform, Compiled[]>;
  private readonly checks: ReadonlyMap<string, number>;
  private readonly exclusions = new Map<string, Exclusion>();
  private readonly pl: number;
  readonly threshold: number;
  private readonly stopEarly: boolean;

  constructor(config: WafConfig) {
    this.pl = config.paranoia_level;
    this.threshold = config.anomaly_threshold;
    this.stopEarly = config.mode === 'block';
    const disabled = new Set<number>(config.disabled_rules);
    this.byForm = { text: [], sql: [], cmd: [], path: [], raw: [] };
    this.headerForm = { text: [], sql: [], cmd: [], path: [], raw: [] };
    for (const rule of PATTERN_RULES) {
      if (rule.paranoia > this.pl || disabled.has(rule.id)) continue;
      const c = { rule, re: new RegExp(rule.pattern), score: SEVERITY_SCORE[rule.severity] };
      this.byForm[rule.transform].push(c);
      if (ALL_HEADER_RULES.has(rule.id)) this.headerForm[rule.transform].push(c);
    }
    const checks = new Map<string, number>();
    for (const [name, c] of Object.entries(CHECK_RULES) as [string, CheckRule][])
      if (c.paranoia <= this.pl && !disabled.has(c.id)) checks.set(name, c.id);
    this.checks = checks;
    for (const e of config.exclusions) {
      const key = e.target.startsWith('headers:') ? e.target.toLowerCase() : e.target;
      let x = this.exclusions.get(key);
      if (x === undefined)
        this.exclusions.set(key, (x = { all: false, ids: new Set(), categories: new Set() }));
      if (e.rule_ids.length === 0 && e.categories.length === 0) x.all = true;
      for (const id of e.rule_ids) x.ids.add(id);
      for (const c of e.categories) x.categories.add(c);
    }
  }

  /** True when no pattern rule and no check is enabled (nothing to do per request). */
  get idle(): boolean {
    return this.checks.size === 0 && Object.values(this.byForm).every((l) => l.length === 0);
  }

  private check(v: Verdict, name: keyof typeof CHECK_RULES, location: string, what: string): void {
    if (!this.checks.has(name)) return;
    const c: CheckRule = CHECK_RULES[name];
    if (v.matches.some((m) => m.id === c.id) || this.excluded(location, c.id, c.category)) return;
    v.score += SEVERITY_SCORE[c.severity];
    v.matches.push({
      id: c.id,
      category: c.category,
      severity: c.severity,
      location,
      excerpt: excerptOf(what),
    });
  }

  private excluded(location: string, id: number, category: Category): boolean {
    if (this.exclusions.size === 0) return false;
    // An argument's name is excluded with the argument (`args:q` covers `args_names:q`).
    const key = location.startsWith('args_names:') ? `args:${location.slice(11)}` : location;
    const x = this.exclusions.get(key);
    return x !== undefined && (x.all || x.ids.has(id) || x.categories.has(category));
  }

  private done(v: Verdict): boolean {
    return this.stopEarly && v.score >= this.threshold;
  }

  /** Runs the pattern rules (`byForm`, or the header-only subset) on one value. */
  private value(v: Verdict, location: string, raw: string, byForm = this.byForm): void {
    if (raw.length === 0 || SAFE.test(raw)) return;
    const decoded = urlDecode(raw);
    if (decoded.indexOf('\0') >= 0) this.check(v, 'nullByte', location, 'NUL');
    else if (CONTROL.test(decoded)) this.check(v, 'controlChars', location, 'control character');
    let text: string | undefined;
    let sql: string | undefined;
    let cmd: string | undefined;
    let path: string | undefined;
    let lower: string | undefined;
    for (const form of ['text', 'sql', 'cmd', 'path', 'raw'] as const) {
      const rules = byForm[form];
      if (rules.length === 0) continue;
      let input: string;
      text ??= textForm(raw);
      if (form === 'text') input = text;
      else if (form === 'sql') input = sql ??= sqlForm(text);
      else if (form === 'cmd') input = cmd ??= cmdForm(text);
      else if (form === 'path') input = path ??= pathForm(text);
      else input = lower ??= raw.toLowerCase();
      for (const c of rules) {
        const m = c.re.exec(input);
        if (m === null) continue;
        if (v.matches.some((x) => x.id === c.rule.id)) continue;
        if (this.excluded(location, c.rule.id, c.rule.category)) continue;
        v.score += c.score;
        v.matches.push({
          id: c.rule.id,
          category: c.rule.category,
          severity: c.rule.severity,
          location,
          excerpt: excerptOf(m[0]),
        });
        if (this.done(v)) return;
      }
    }
  }

  private args(v: Verdict, prefix: string, entries: Iterable<[string, string]>): number {
    let n = 0;
    for (const [name, value] of entries) {
      n++;
      this.value(v, `args_names:${prefix}${name}`, name);
      this.value(v, `args:${prefix}${name}`, value);
      if (this.done(v)) break;
    }
    return n;
  }

  /** Scores the request line and headers (path, query, headers, cookies, protocol checks). */
  inspectHead(req: WafRequest): Verdict {
    const v: Verdict = { score: 0, matches: [] };
    if (!METHODS.has(req.method)) this.check(v, 'method', 'request', req.method);
    const h = req.headers;
    if (h['content-length'] !== undefined && h['transfer-encoding'] !== undefined)
      this.check(v, 'lengthAndChunked', 'request', 'content-length + transfer-encoding');
    if (h['user-agent'] === undefined) this.check(v, 'noUserAgent', 'request', 'no user-agent');
    if (h.accept === undefined) this.check(v, 'noAccept', 'request', 'no accept');
    if (BAD_ENCODING.test(req.rawPath)) this.check(v, 'badEncoding', 'path', req.rawPath);
    if (BAD_ENCODING.test(req.rawQuery)) this.check(v, 'badEncoding', 'query', req.rawQuery);
    if (this.pl >= 3) {
      if (NON_PRINTABLE.test(urlDecode(req.rawPath))) this.check(v, 'nonPrintable', 'path', 'non-printable');
      if (NON_PRINTABLE.test(urlDecode(req.rawQuery)))
        this.check(v, 'nonPrintable', 'query', 'non-printable');
    }
    if (this.pl >= 4 && STRICT_QUERY.test(req.rawQuery))
      this.check(v, 'strictCharset', 'query', req.rawQuery);
    this.value(v, 'path', req.rawPath);
    if (this.done(v)) return v;
    if (req.rawQuery !== '') {
      const n = this.args(v, '', req.query);
      if (n > 255) this.check(v, 'manyArgs', 'query', `${n} arguments`);
      if (this.done(v)) return v;
    }
    for (const name in h) {
      const values = h[name]!;
      if (name === 'cookie') {
        for (const header of values)
          for (const [cn, cv] of cookiePairs(header)) {
            this.value(v, `cookies:${cn}`, cn);
            this.value(v, `cookies:${cn}`, cv);
          }
        continue;
      }
      if (HEADER_SKIP.has(name)) {
        // Framing and negotiation headers: only NUL / control characters (node refuses CR/LF).
        for (const value of values)
          if (CONTROL.test(value) || value.indexOf('\0') >= 0)
            this.value(v, `headers:${name}`, value, this.headerForm);
        continue;
      }
      const all = HEADER_PL1.has(name) || this.pl >= 2;
      for (const value of values)
        this.value(v, `headers:${name}`, value, all ? this.byForm : this.headerForm);
      if (this.done(v)) return v;
    }
    return v;
  }

  /** Adds the body's score: JSON and form bodies as arguments, anything else as raw text. */
  inspectBody(v: Verdict, body: WafBody): void {
    if (this.done(v) || body.text.length === 0) return;
    const type = body.contentType.toLowerCase();
    if (type.includes('json')) {
      let data: unknown;
      try {
        data = JSON.parse(body.text);
      } catch {
        this.check(v, 'badJson', 'body', 'invalid JSON');
        this.value(v, 'body', body.text);
        return;
      }
      if (!this.json(v, data)) this.value(v, 'body', body.text);
      return;
    }
    if (type.startsWith('application/x-www-form-urlencoded')) {
      const n = this.args(v, '', limited(new URLSearchParams(body.text), MAX_BODY_ARGS));
      if (n >= MAX_BODY_ARGS) this.value(v, 'body', body.text);
      return;
    }
    this.value(v, 'body', body.text);
  }

  /** Walks a parsed JSON body (names as dotted paths); false when a bound cut the walk short. */
  private json(v: Verdict, data: unknown): boolean {
    const stack: [string, unknown, number][] = [['', data, 0]];
    let count = 0;
    while (stack.length > 0) {
      const [name, value, depth] = stack.pop()!;
      if (++count > MAX_BODY_ARGS) return false;
      if (typeof value === 'string') this.value(v, `args:${name}`, value);
      else if (value !== null && typeof value === 'object') {
        if (depth >= MAX_JSON_DEPTH) return false;
        const isArray = Array.isArray(value);
        for (const key of Object.keys(value)) {
          if (!isArray) this.value(v, `args_names:${name === '' ? key : `${name}.${key}`}`, key);
          stack.push([
            name === '' ? key : `${name}.${key}`,
            (value as Record<string, unknown>)[key],
            depth + 1,
          ]);
        }
      }
      if (this.done(v)) return true;
    }
    return true;
  }
}

function* limited<T>(it: Iterable<T>, max: number): Generator<T> {
  let n = 0;
  for (const x of it) {
    if (n++ >= max) return;
    yield x;
  }
}

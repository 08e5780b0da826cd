/**
 * The rules are linear-time: every pattern passes the `recheck` ReDoS analyser (it finds both
 * exponential and polynomial backtracking, where safe-regex only flags nested stars), and each
 * one, the transforms and the whole engine complete on 64 KiB adversarial inputs built from
 * the characters the patterns repeat. No assertion is on time: the analyser is the proof, the
 * 64 KiB runs show the work completes.
 */
import { check } from 'recheck';
import { describe, expect, it } from 'vitest';
import { CHECK_RULES, PATTERN_RULES, RULE_IDS } from './rules.js';
import { cmdForm, compressWhitespace, htmlDecode, sqlForm, textForm, urlDecode } from './transforms.js';
import { engineAt } from './corpus.js';
import type { Verdict } from './engine.js';

const KIB64 = 64 * 1024;

/** Strings that drive backtracking in patterns like these: long runs of what they repeat. */
function adversarial(): string[] {
  const unit = [
    'a',
    ' ',
    '\t',
    "'",
    '"',
    '`',
    '<',
    '<a ',
    '/',
    '../',
    '..',
    '%',
    '%25',
    '%2',
    '&#',
    '&#x',
    '&',
    ';',
    '|',
    '$(',
    '${',
    '/*',
    '*/',
    '--',
    'or ',
    "' or ",
    'union ',
    'select ',
    'select a ',
    '<a on',
    'onerror',
    'javascript',
    '() ',
    '(',
    ')',
    '\\',
    '\r\n',
    '=',
    'a=',
    '%u',
    '%c0%ae',
    'on',
    'get /',
    '; ',
    '| ls',
    'sleep',
    'char(',
    'document.',
    'alert(',
    '/etc/',
    '0x',
  ];
  const out: string[] = [];
  for (const u of unit) {
    const body = u.repeat(Math.ceil(KIB64 / u.length)).slice(0, KIB64);
    out.push(body, `${body}!`, `x${body}\u0000`);
  }
  return out;
}

describe('waf rules are linear-time', () => {
  it('gives every rule a distinct id in its CRS category range', () => {
    const ids = [...PATTERN_RULES.map((r) => r.id), ...Object.values(CHECK_RULES).map((c) => c.id)];
    expect(new Set(ids).size).toBe(ids.length);
    expect(RULE_IDS.size).toBe(ids.length);
    const range = { sqli: 942, xss: 941, lfi: 930, rce: 932, protocol: [911, 920, 921] } as const;
    for (const r of PATTERN_RULES) {
      const want = range[r.category];
      expect(Array.isArray(want) ? want : [want], `${r.id}`).toContain(Math.floor(r.id / 1000));
    }
  });

  it.each(PATTERN_RULES.map((r) => [r.id, r.pattern] as const))(
    'rule %i has no exponential or polynomial backtracking (recheck)',
    async (_id, pattern) => {
      // The automaton checker: it decides from the pattern's automaton (exact, ~25 ms a rule).
      // The default picks the fuzz checker for bounded repetitions, a heuristic whose search is
      // cut by time: on a loaded CI box it read rule 942230 ({1,40} after `having`/`where`,
      // linear) as quadratic from 'having"' repeated, and passed it on a quiet one.
      const result = await check(pattern, '', { timeout: 60_000, checker: 'automaton' });
      expect(
        result.status,
        result.status === 'vulnerable'
          ? `${result.complexity.summary}: ${result.attack.pattern}`
          : result.status,
      ).toBe('safe');
    },
    120_000,
  );

  it('the analyser is not vacuous: it flags a nested quantifier and a polynomial one', async () => {
    const automaton = { checker: 'automaton' } as const;
    expect((await check('^(a+)+$', '', automaton)).status).toBe('vulnerable');
    expect((await check(String.raw`\s*a\s*b`, '', automaton)).status).toBe('vulnerable');
    // … and one with a bounded repetition, the shape the rules use.
    expect((await check(String.raw`^(?:a|a){1,40}(?:a|a)*$`, '', automaton)).status).toBe('vulnerable');
  });

  it('runs every rule, the transforms and the engine on 64 KiB adversarial inputs', () => {
    const res = PATTERN_RULES.map((r) => new RegExp(r.pattern));
    const engine = engineAt(4, { mode: 'detect', max_body_size: KIB64 * 2 });
    let runs = 0;
    for (const s of adversarial()) {
      for (const re of res) {
        re.test(s);
        runs++;
      }
      for (const form of [textForm(s), sqlForm(textForm(s)), cmdForm(s), htmlDecode(s), urlDecode(s)])
        expect(typeof form).toBe('string');
      const v = engine.inspectHead({
        method: 'GET',
        rawPath: `/${s}`,
        rawQuery: `q=${s}`,
        query: new URLSearchParams({ q: s }),
        headers: { 'user-agent': [s] },
      });
      engine.inspectBody(v, { contentType: 'text/plain', text: s });
      expect(v.score).toBeGreaterThanOrEqual(0);
    }
    expect(runs).toBe(adversarial().length * PATTERN_RULES.length);
  });

  it('walks a 64 KiB JSON body nested past the depth bound and wide past the argument bound', () => {
    const e = engineAt(1, { mode: 'detect' });
    const deep = `${'['.repeat(10_000)}"<script>"${']'.repeat(10_000)}`;
    const v1: Verdict = { score: 0, matches: [] };
    e.inspectBody(v1, { contentType: 'application/json', text: deep });
    expect(v1.matches.map((m) => m.id)).toContain(941100);
    const wide = JSON.stringify(
      Array.from({ length: 5000 }, (_, i) => (i === 4999 ? "' or 1=1--" : `v${i}`)),
    );
    const v2: Verdict = { score: 0, matches: [] };
    e.inspectBody(v2, { contentType: 'application/json', text: wide });
    expect(v2.matches.map((m) => m.id)).toContain(942110);
  });
});

describe('waf transforms', () => {
  it('URL-decodes at most twice (double encoding unwrapped, triple not), %uXXXX included', () => {
    expect(urlDecode('%253Cscript%253E')).toBe('<script>');
    expect(urlDecode('%25253C')).toBe('%3C');
    expect(urlDecode('%u003cb%zz%')).toBe('<b%zz%');
  });

  it('decodes HTML entities, named, decimal and hex, with or without ;', () => {
    expect(htmlDecode('&lt;a&gt; &#60;&#x3c;&#0000060 &colon;&unknown;')).toBe('<a> <<< :&unknown;');
  });

  it('lower-cases, drops NUL bytes and compresses whitespace in the text form', () => {
    expect(textForm('A\u0000B  \t\n C')).toBe('ab c');
    expect(compressWhitespace('a  b')).toBe('a b');
  });

  it('removes SQL comments, keeping the content of MySQL executable comments', () => {
    expect(sqlForm('1/**/union/*x*/select')).toBe('1 union select');
    expect(sqlForm('/*!50000union*/ select')).toBe(' union  select');
    expect(sqlForm('a /* unterminated')).toBe('a  ');
  });

  it('applies cmdLine: escapes and quotes removed, no space before / and (', () => {
    expect(cmdForm(`c'a't /etc/pa\\sswd ^x "y" (z)`)).toBe('cat/etc/passwd x y(z)');
  });
});

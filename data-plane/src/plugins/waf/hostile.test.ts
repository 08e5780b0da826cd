/**
 * Properties over hostile input: any config is validated to a value or field errors (never a
 * throw, never a polluted prototype) and a valid one initialises; any request (hostile paths,
 * queries, headers, JSON with `__proto__` keys, deep nesting, form and raw bodies) is answered
 * 403/413 or passed, never an exception, and leaves Object.prototype untouched.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { schema } from '@gatehouse/shared';
import plugin from './plugin.js';
import { wafSpec } from './schema.js';
import { initialise, outcome, pluginRequest, run, snapshotOf } from '../runtime/test-support.js';

const snapshot = snapshotOf({});

const hostileValue = fc.oneof(
  fc.anything(),
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.constant('__proto__'),
  fc.constant({ ['__proto__']: { polluted: true } }),
  fc.constantFrom(
    'block',
    'detect',
    'reject',
    'skip',
    'sqli',
    'xss',
    'args:__proto__',
    'headers:constructor',
  ),
  fc.array(fc.oneof(fc.integer(), fc.constantFrom(942100, 941100, 920270), fc.string())),
  fc.array(
    fc.record(
      {
        target: fc.oneof(
          fc.string(),
          fc.constantFrom('path', 'body', 'args:__proto__', 'cookies:a', 'headers:x'),
        ),
        rule_ids: fc.array(fc.oneof(fc.integer(), fc.constant(942100))),
        categories: fc.array(fc.oneof(fc.string(), fc.constantFrom('sqli', 'rce', 'protocol'))),
      },
      { requiredKeys: [] },
    ),
  ),
);
const configKeys = [...Object.keys(wafSpec.schema.fields), '__proto__', 'constructor', 'unknown'];

const fragment = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom(
    "'",
    '"',
    '<',
    '>',
    '%',
    '%00',
    '%2e%2e/',
    '%25',
    '&#x3c;',
    '/*',
    '*/',
    '--',
    ';',
    '|',
    '`',
    '$(',
    'union select',
    '<script>',
    'javascript:',
    '../',
    '__proto__',
    'constructor',
    'prototype',
    '\\u0000',
    '%uff0e',
    '%c0%ae',
    '() {',
    '\r\n',
    '=',
    '&',
    '[',
    ']',
    '{',
    '}',
  ),
);
const hostileString = fc.array(fragment, { maxLength: 12 }).map((a) => a.join(''));
const token = fc.stringMatching(/^[A-Za-z0-9-]{1,20}$/);
const headerValue = hostileString.map((s) => s.replace(/[^\t\x20-\x7e]/g, ''));
const jsonBody = fc
  .oneof(
    fc.jsonValue({ maxDepth: 6 }),
    fc.dictionary(fc.constantFrom('__proto__', 'constructor', 'a', 'b.c'), fc.jsonValue({ maxDepth: 3 })),
    fc.nat({ max: 3000 }).map((n) => JSON.parse(`${'['.repeat(n)}"x"${']'.repeat(n)}`) as unknown),
  )
  .map((v) => JSON.stringify(v) ?? 'null');

describe('waf over hostile input', () => {
  it('validates any config to a value or field errors; a valid one initialises', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...configKeys), hostileValue, { maxKeys: 8 }), (config) => {
        const input = JSON.parse(JSON.stringify(config)) as unknown;
        const result = schema.check(wafSpec.schema, input);
        if (result.errors !== null) expect(Object.keys(result.errors).length).toBeGreaterThan(0);
        else expect(() => initialise(plugin, snapshot, input as Record<string, unknown>)).not.toThrow();
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  const states = [
    initialise(plugin, snapshot, {}),
    initialise(plugin, snapshot, { mode: 'detect', paranoia_level: 4, max_body_size: 4096 }),
    initialise(plugin, snapshot, {
      paranoia_level: 3,
      max_body_size: 64,
      body_limit_action: 'skip',
      exclusions: [{ target: 'args:__proto__' }, { target: 'headers:x-a', categories: ['xss'] }],
    }),
  ];

  it('answers 403, 413 or passes any request, never throws, never pollutes a prototype', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: states.length - 1 }),
        fc.array(fc.tuple(hostileString, hostileString), { maxLength: 6 }),
        fc.array(fc.tuple(token, headerValue), { maxLength: 5 }),
        fc.oneof(
          fc.constant(null),
          jsonBody.map((b) => ['application/json', b] as const),
          hostileString.map((b) => ['application/x-www-form-urlencoded', b] as const),
          hostileString.map((b) => ['text/plain', b] as const),
        ),
        fc.constantFrom('GET', 'POST', 'PUT', 'BREW'),
        async (which, args, headers, body, method) => {
          const query = args.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
          const h: [string, string][] = headers.map(([n, v]) => [`x-${n}`, v]);
          if (body !== null)
            h.push(['Content-Type', body[0]], ['Content-Length', String(Buffer.byteLength(body[1]))]);
          const ctx = pluginRequest(snapshot, { method, query, headers: h, body: body?.[1] });
          await run(plugin.access!(ctx, states[which]!));
          const answer = outcome(ctx).answer;
          if (answer !== null) expect([403, 413]).toContain(answer.status);
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
          expect(Object.getPrototypeOf({})).toBe(Object.prototype);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('blocks one known attack (the property above is not vacuous)', async () => {
    const ctx = pluginRequest(snapshot, { query: 'q=%3Cscript%3E', headers: [['User-Agent', 'x']] });
    await run(plugin.access!(ctx, states[0]!));
    expect(outcome(ctx).answer?.status).toBe(403);
  });
});

/**
 * Properties over hostile input: any plugin config validates to a value or to field errors
 * (never a throw or a polluted prototype); any parameters sent to /oauth2/token and
 * /oauth2/authorize, and any bearer token, end in a Kong-shaped 2xx/4xx answer, never an
 * exception, a 5xx, or a token issued to a client that did not authenticate.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { schema } from '@gatehouse/shared';
import plugin from './plugin.js';
import { oauth2Spec } from './schema.js';
import { initialise, outcome, pluginRequest, run, snapshotOf } from '../runtime/test-support.js';
import { CONFIG, consumer, credential, SERVICE as service } from './test-fixtures.js';

const snapshot = snapshotOf({ consumers: [consumer('c', 'bob')], oauth2_credentials: [credential()] });
const state = initialise(plugin, snapshot, CONFIG);

const hostileValue = fc.oneof(
  fc.anything(),
  fc.constant('__proto__'),
  fc.constant({ ['__proto__']: { polluted: true } }),
  fc.array(fc.oneof(fc.string(), fc.integer())),
);
const configKeys = [...Object.keys(oauth2Spec.schema.fields), '__proto__', 'constructor', 'unknown'];
const PARAM_NAMES = [
  'grant_type',
  'client_id',
  'client_secret',
  'code',
  'code_verifier',
  'code_challenge',
  'code_challenge_method',
  'refresh_token',
  'redirect_uri',
  'scope',
  'state',
  'provision_key',
  'authenticated_userid',
  'response_type',
  'access_token',
  '__proto__',
  'constructor',
];
const paramValue = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.constantFrom('client_credentials', 'password', 'authorization_code', 'refresh_token', 'code', 'token'),
  fc.constantFrom('clientid', 'secret123', 'provision123', 'https://app.example/cb', 'S256', 'plain'),
  fc.string({ maxLength: 200 }).map((s) => Buffer.from(s).toString('base64url') + '.e30.' + s),
);
const body = fc.oneof(
  fc.array(fc.tuple(fc.constantFrom(...PARAM_NAMES), paramValue), { maxLength: 8 }).map((pairs) => ({
    type: 'application/x-www-form-urlencoded',
    text: new URLSearchParams(pairs).toString(),
  })),
  fc.dictionary(fc.constantFrom(...PARAM_NAMES), hostileValue, { maxKeys: 8 }).map((d) => ({
    type: 'application/json',
    text: JSON.stringify(d),
  })),
  fc.string({ maxLength: 300 }).map((text) => ({ type: 'application/json', text })),
);

describe('oauth2 over hostile input', () => {
  it('validates any config to a value or field errors, without throwing or polluting prototypes', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...configKeys), hostileValue, { maxKeys: 8 }), (config) => {
        const result = schema.check(oauth2Spec.schema, JSON.parse(JSON.stringify(config ?? null)) as unknown);
        if (result.errors !== null) expect(Object.keys(result.errors).length).toBeGreaterThan(0);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it('answers any token or authorize request with a JSON 200/400/401, issuing only to the authenticated client', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/x/oauth2/token', '/x/oauth2/authorize'),
        body,
        fc.option(fc.string({ maxLength: 80 }), { nil: undefined }),
        async (path, b, authorization) => {
          const ctx = pluginRequest(snapshot, {
            method: 'POST',
            path,
            tls: {},
            service,
            headers: [
              ['content-type', b.type],
              ...(authorization === undefined ? [] : [['authorization', authorization] as [string, string]]),
            ],
            body: b.text,
          });
          await run(plugin.access!(ctx, state));
          const answer = outcome(ctx).answer!;
          expect([200, 400, 401]).toContain(answer.status);
          expect(answer.json).toBeTypeOf('object');
          const issued = answer.json as Record<string, unknown>;
          if (answer.status === 200 && path.endsWith('/token')) {
            // Only client_credentials with the real secret can succeed from random input.
            expect(b.text).toContain('secret123');
            expect(issued.token_type).toBe('bearer');
          }
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses any presented bearer token that this instance did not sign with 401 invalid_token', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 300 }), async (tok) => {
        const ctx = pluginRequest(snapshot, {
          path: '/x',
          tls: {},
          service,
          headers: [['authorization', `Bearer ${tok.replace(/\s/g, 'x')}`]],
        });
        await run(plugin.access!(ctx, state));
        expect(outcome(ctx).answer).toMatchObject({ status: 401 });
        expect(ctx.consumer).toBeNull();
      }),
      { numRuns: 300 },
    );
  });
});

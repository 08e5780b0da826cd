import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { endpointBody, endpointPath } from './rbac';

describe('RBAC endpoint permissions in the UI', () => {
  it('builds the permission’s own path as the Admin API routes it', () => {
    expect(endpointPath('ops', { workspace: 'default', endpoint: '/services/*' })).toBe(
      '/rbac/roles/ops/endpoints/default/services/*',
    );
    expect(endpointPath('a b', { workspace: '*', endpoint: '*' })).toBe('/rbac/roles/a%20b/endpoints/*/*');
  });

  it('checks a draft before sending and names the fields', () => {
    expect(endpointBody({ endpoint: '', actions: [], negative: false, workspace: 'x', comment: '' })).toEqual(
      {
        errors: {
          endpoint: 'required field missing',
          actions: 'choose at least one action',
          workspace: 'must be "default" or "*"',
        },
      },
    );
    expect(
      endpointBody({
        endpoint: ' /services ',
        actions: ['read', 'bogus'],
        negative: true,
        workspace: 'default',
        comment: '',
      }),
    ).toEqual({ body: { endpoint: '/services', actions: ['read'], negative: true, workspace: 'default' } });
  });

  it('never throws, and sends only known actions and a trimmed endpoint', () => {
    fc.assert(
      fc.property(
        fc.record({
          endpoint: fc.string({ maxLength: 40 }),
          actions: fc.array(fc.oneof(fc.constantFrom('read', 'create', 'update', 'delete'), fc.string()), {
            maxLength: 6,
          }),
          negative: fc.boolean(),
          workspace: fc.oneof(fc.constantFrom('default', '*'), fc.string({ maxLength: 8 })),
          comment: fc.string({ maxLength: 20 }),
        }),
        (d) => {
          const r = endpointBody(d);
          if ('body' in r) {
            expect(r.body.endpoint).toBe(d.endpoint.trim());
            expect(
              (r.body.actions as string[]).every((a) => ['read', 'create', 'update', 'delete'].includes(a)),
            ).toBe(true);
          } else expect(Object.keys(r.errors).length).toBeGreaterThan(0);
        },
      ),
    );
  });
});

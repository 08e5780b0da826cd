import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allows, identityFrom, identityText, UNKNOWN_IDENTITY } from './identity';

const readOnly = {
  actor: { name: 'ro', kind: 'rbac-user' },
  rbac_enforced: true,
  rbac_user: { name: 'ro' },
  roles: [
    { name: 'read-only', endpoints: [{ endpoint: '*', actions: ['read'], negative: false, workspace: '*' }] },
  ],
};
const servicesWriter = {
  actor: { name: 'sw', kind: 'rbac-user' },
  rbac_enforced: true,
  roles: [
    {
      name: 'svc',
      endpoints: [
        { endpoint: '*', actions: ['read'], negative: false },
        { endpoint: '/services', actions: ['create'], negative: false },
        { endpoint: '/services/*', actions: ['update', 'delete'], negative: false },
        { endpoint: '/services/*', actions: ['delete'], negative: true },
      ],
    },
  ],
};

describe('identity from /userinfo', () => {
  it('allows what the roles allow, with the Admin API’s own matching', () => {
    const ro = identityFrom(readOnly);
    expect(identityText(ro)).toBe('ro (read-only)');
    expect(allows(ro, 'GET', '/services')).toBe(true);
    expect(allows(ro, 'POST', '/services')).toBe(false);
    const sw = identityFrom(servicesWriter);
    expect(allows(sw, 'POST', '/services')).toBe(true);
    expect(allows(sw, 'PATCH', '/services/abc')).toBe(true);
    expect(allows(sw, 'DELETE', '/services/abc')).toBe(false);
    expect(allows(sw, 'POST', '/routes')).toBe(false);
    expect(allows(sw, 'POST', '/services?x=1')).toBe(true);
  });

  it('allows everything without RBAC (the admin token, loopback, an older CP)', () => {
    const admin = identityFrom({
      actor: { name: 'admin', kind: 'admin-token' },
      rbac_enforced: false,
      roles: [],
      permissions: null,
    });
    expect(identityText(admin)).toBe('admin token');
    expect(allows(admin, 'DELETE', '/rbac/users/x')).toBe(true);
    expect(allows(UNKNOWN_IDENTITY, 'POST', '/services')).toBe(true);
  });

  it('reads any body without throwing; under RBAC an unreadable permission allows nothing more', () => {
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 4 }),
        fc.constantFrom('GET', 'POST', 'DELETE'),
        fc.string({ maxLength: 20 }),
        (body, method, path) => {
          const id = identityFrom(body);
          const hostile = identityFrom({
            ...(typeof body === 'object' && body && !Array.isArray(body) ? body : {}),
            rbac_enforced: true,
            roles: 'x',
          });
          expect(typeof identityText(id)).toBe('string');
          expect(allows(hostile, method, `/${path}`)).toBe(false);
        },
      ),
    );
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BUNDLED_ROLES } from './bundled-roles.js';
import {
  actionsOf,
  endpointProblem,
  normaliseEndpoint,
  PermissionSet,
  requestSegments,
  type EndpointPermission,
} from './permissions.js';

const role = (name: string) => new PermissionSet(BUNDLED_ROLES.find((r) => r.name === name)!.endpoints);
const perm = (endpoint: string, actions: EndpointPermission['actions'], negative = false) => ({
  endpoint,
  actions,
  negative,
});

describe('request actions (Kong: GET/HEAD/OPTIONS read, POST create, PUT/PATCH update, DELETE delete)', () => {
  it('maps each method to its action, and an unknown one to all four', () => {
    expect(actionsOf('GET')).toEqual(['read']);
    expect(actionsOf('head')).toEqual(['read']);
    expect(actionsOf('OPTIONS')).toEqual(['read']);
    expect(actionsOf('POST')).toEqual(['create']);
    expect(actionsOf('PUT')).toEqual(['update']);
    expect(actionsOf('PATCH')).toEqual(['update']);
    expect(actionsOf('DELETE')).toEqual(['delete']);
    expect(actionsOf('TRACE')).toEqual(['read', 'create', 'update', 'delete']);
  });
});

describe('endpoint matching', () => {
  it('denies everything without a permission', () => {
    const none = new PermissionSet([]);
    for (const path of ['/', '/services', '/rbac/users', '/anything/new'])
      expect(none.allows('GET', path), path).toBe(false);
  });

  it('`*` matches every path; `*` in a path matches exactly one segment', () => {
    const all = new PermissionSet([perm('*', ['read'])]);
    expect(all.allows('GET', '/')).toBe(true);
    expect(all.allows('GET', '/a/b/c/d/e/f/g/h')).toBe(true);
    expect(all.allows('POST', '/services')).toBe(false);

    const one = new PermissionSet([perm('/services/*', ['read', 'update'])]);
    expect(one.allows('GET', '/services/foo')).toBe(true);
    expect(one.allows('PATCH', '/services/foo')).toBe(true);
    expect(one.allows('DELETE', '/services/foo')).toBe(false);
    expect(one.allows('GET', '/services')).toBe(false);
    expect(one.allows('GET', '/services/foo/routes')).toBe(false);
    expect(one.allows('GET', '/routes/foo')).toBe(false);
  });

  it('the most specific permission wins; a negative one wins a tie', () => {
    const set = new PermissionSet([
      perm('*', ['read', 'create', 'update', 'delete']),
      perm('/services/*', ['delete'], true),
      perm('/services/keep', ['delete']),
    ]);
    expect(set.allows('DELETE', '/routes/x')).toBe(true);
    expect(set.allows('DELETE', '/services/x')).toBe(false);
    expect(set.allows('DELETE', '/services/keep')).toBe(true);
    expect(set.allows('GET', '/services/x')).toBe(true);

    const tie = new PermissionSet([perm('/consumers/*', ['read']), perm('/consumers/*', ['read'], true)]);
    expect(tie.allows('GET', '/consumers/a')).toBe(false);
  });

  it('reads paths percent-decoded, without empty segments or a trailing slash', () => {
    const deny = new PermissionSet([perm('*', ['read']), perm('/rbac/*', ['read'], true)]);
    for (const path of ['/rbac/users', '/%72bac/users', '//rbac//users/', '/rbac/users/'])
      expect(deny.allows('GET', path), path).toBe(false);
    expect(requestSegments('/a/%2F/b%')).toEqual(['a', '/', 'b%']);
  });

  it('ignores case in negative literals (the routes do) but not in positive ones', () => {
    const set = new PermissionSet([
      perm('*', ['read']),
      perm('/rbac/*', ['read'], true),
      perm('/services/Foo', ['delete']),
    ]);
    expect(set.allows('GET', '/RBAC/users')).toBe(false);
    expect(set.allows('DELETE', '/services/Foo')).toBe(true);
    expect(set.allows('DELETE', '/services/foo')).toBe(false);
  });

  it('counts a path from its sixth segment on as one (Kong routes end in a splat there)', () => {
    expect(requestSegments('/rbac/roles/r/endpoints/default/services/*/routes')).toEqual([
      'rbac',
      'roles',
      'r',
      'endpoints',
      'default',
      'services/*/routes',
    ]);
    const set = new PermissionSet([perm('/rbac/roles/*/endpoints/*/*', ['read'])]);
    expect(set.allows('GET', '/rbac/roles/r/endpoints/default/services/*/routes')).toBe(true);
  });
});

describe('bundled roles', () => {
  it('super-admin may do anything; read-only only reads', () => {
    const sa = role('super-admin');
    const ro = role('read-only');
    for (const m of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'])
      for (const p of ['/services', '/rbac/users/x/roles', '/clustering/data-planes/x']) {
        expect(sa.allows(m, p), `${m} ${p}`).toBe(true);
        expect(ro.allows(m, p), `${m} ${p}`).toBe(m === 'GET');
      }
  });

  it('admin may do anything but RBAC, at any depth', () => {
    const admin = role('admin');
    expect(admin.allows('DELETE', '/services/x')).toBe(true);
    expect(admin.allows('DELETE', '/clustering/data-planes/x')).toBe(true);
    for (const p of [
      '/rbac',
      '/rbac/users',
      '/rbac/users/x/roles',
      '/rbac/roles/r/endpoints/default/a/b/c/d',
    ])
      for (const m of ['GET', 'POST', 'DELETE']) expect(admin.allows(m, p), `${m} ${p}`).toBe(false);
  });

  it('operator writes configuration, reads the rest, not RBAC nor cluster writes', () => {
    const op = role('operator');
    expect(op.allows('POST', '/services')).toBe(true);
    expect(op.allows('POST', '/config')).toBe(true);
    expect(op.allows('DELETE', '/consumers/x/key-auth/y')).toBe(true);
    expect(op.allows('GET', '/clustering/data-planes')).toBe(true);
    expect(op.allows('DELETE', '/clustering/data-planes/x')).toBe(false);
    expect(op.allows('GET', '/rbac/users')).toBe(false);
  });
});

describe('endpoint patterns', () => {
  it('accepts * and paths; refuses what is neither', () => {
    expect(endpointProblem('*')).toBeUndefined();
    expect(endpointProblem('/services/*')).toBeUndefined();
    for (const bad of ['', 'services', '/a b', '/a?x', '/a#b', '/a\u0000', 'x'.repeat(600)])
      expect(endpointProblem(bad), JSON.stringify(bad)).toBeDefined();
    expect(normaliseEndpoint('/services//x/')).toBe('/services/x');
    expect(normaliseEndpoint('*')).toBe('*');
  });

  it('any permissions and any path give a decision, never an exception', () => {
    const action = fc.constantFrom<EndpointPermission['actions'][number]>(
      'read',
      'create',
      'update',
      'delete',
    );
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            endpoint: fc.oneof(
              fc.constant('*'),
              fc.string().map((s) => '/' + s),
            ),
            actions: fc.array(action, { maxLength: 4 }),
            negative: fc.boolean(),
          }),
          { maxLength: 8 },
        ),
        fc.string(),
        fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'TRACE'),
        (perms, path, method) => {
          expect(typeof new PermissionSet(perms).allows(method, '/' + path)).toBe('boolean');
        },
      ),
    );
  });

  it('a negative permission on every path denies its actions whatever else is allowed', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[A-Za-z0-9_.~-]{1,12}$/), { maxLength: 10 }), (segments) => {
        const path = '/' + segments.join('/');
        const set = new PermissionSet([perm('*', ['read']), perm(path, ['read']), perm('*', ['read'], true)]);
        // The exact path is more specific than `*`: it decides.
        expect(set.allows('GET', path)).toBe(true);
        const denyAll = new PermissionSet([perm('*', ['read'], true), perm('*', ['read'])]);
        expect(denyAll.allows('GET', path)).toBe(false);
      }),
    );
  });
});

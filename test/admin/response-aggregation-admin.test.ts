/**
 * response-aggregation's config checked by the control plane at write time (Admin API, PGlite):
 * a dependency cycle, an unknown call and a bad template are refused with Kong's schema
 * violation naming the field; a valid config is stored with its defaults.
 */
import { describe, expect, it } from 'vitest';
import { useAdminServer } from './contract-server.js';

describe('Admin API: response-aggregation config (pglite)', () => {
  const admin = useAdminServer('pglite');

  it('refuses a dependency cycle with a schema violation naming config.calls[i].depends_on', async () => {
    const r = await admin.call('POST', '/plugins', {
      name: 'response-aggregation',
      config: {
        calls: [
          { name: 'a', service: 's', path: '/a', depends_on: ['b'] },
          { name: 'b', service: 's', path: '/b/{resp.a.id}' },
        ],
      },
    });
    expect(r.status).toBe(400);
    expect(r.body.name).toBe('schema violation');
    expect(r.body.fields).toEqual({
      config: { calls: [{ depends_on: 'dependency cycle: a -> b -> a' }, null] },
    });
  });

  it('refuses an unknown call in a path and a template that does not start with a slash', async () => {
    const r = await admin.call('POST', '/plugins', {
      name: 'response-aggregation',
      config: { calls: [{ name: 'a', service: 's', path: '/x/{resp.ghost.id}' }] },
    });
    expect(r.status).toBe(400);
    expect(r.body.fields).toEqual({ config: { calls: [{ path: "unknown call 'ghost'" }] } });
    const bad = await admin.call('POST', '/plugins', {
      name: 'response-aggregation',
      config: { calls: [{ name: 'a', service: 's', path: 'http://evil.example/x' }] },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.fields).toEqual({ config: { calls: [{ path: "must start with '/'" }] } });
  });

  it('stores a valid config with its defaults', async () => {
    const created = await admin.ok('POST', '/plugins', {
      name: 'response-aggregation',
      config: { calls: [{ name: 'a', service: 's', path: '/a' }] },
    });
    expect(created.config).toMatchObject({
      on_failure: 'fail',
      merge: false,
      timeout: 10000,
      max_body_size: 1048576,
      forward_headers: [],
      calls: [{ name: 'a', service: 's', path: '/a', depends_on: [], timeout: 5000 }],
    });
  });
});

/**
 * The control plane refuses request-validator and data-masking configs at write time, naming what
 * is wrong (a draft 4 schema that does not compile, a selector it cannot parse), and stores the
 * good ones with their defaults (Admin API on embedded Postgres).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminApp } from '../../control-plane/src/admin/index.js';
import { ConfigStore } from '../../control-plane/src/store/index.js';
import { loadPluginRegistry } from '../../data-plane/src/plugins/index.js';
import { createTestDatabase, quietLogger, type TestDatabase } from '../helpers/db.js';

describe('Admin API: request-validator and data-masking configs (pglite)', () => {
  let tdb: TestDatabase;
  let admin: Server;
  let base: string;

  beforeAll(async () => {
    tdb = await createTestDatabase('pglite');
    const logger = quietLogger('admin');
    const store = new ConfigStore(tdb.db, { logger, plugins: await loadPluginRegistry() });
    admin = createServer(createAdminApp({ store, logger }));
    await new Promise<void>((resolve) => admin.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(admin.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => {
      admin?.close(() => resolve());
      admin?.closeAllConnections();
    });
    await tdb?.drop();
  });

  const post = async (body: unknown) => {
    const res = await fetch(`${base}/plugins`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  it('refuses a body_schema that does not compile, with the reason under the field', async () => {
    const r = await post({ name: 'request-validator', config: { body_schema: '{"type":"strin"}' } });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.json.fields)).toMatch(/body_schema.*invalid schema/);
    const remote = await post({
      name: 'request-validator',
      config: { body_schema: '{"$ref":"http://x/s.json"}' },
    });
    expect(remote.status).toBe(400);
    expect(JSON.stringify(remote.json.fields)).toMatch(/can't resolve reference/);
  });

  it('refuses an unparsable selector, naming it', async () => {
    const r = await post({ name: 'data-masking', config: { response: { json: ['$.items[?(@.x)]'] } } });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.json.fields)).toContain("invalid selector '$.items[?(@.x)]'");
  });

  it('stores valid configs with their defaults', async () => {
    const v = await post({ name: 'request-validator', config: { body_schema: '{"type":"object"}' } });
    expect(v.status).toBe(201);
    expect(v.json.config).toMatchObject({ version: 'draft4', allowed_content_types: ['application/json'] });
    const m = await post({ name: 'data-masking', config: { detectors: ['card'] } });
    expect(m.status).toBe(201);
    expect(m.json.config).toMatchObject({ mode: 'redact', redaction: '****', max_body_size: 1048576 });
  });
});

/**
 * Every log plugin's config (http-log, file-log, tcp-log, udp-log, syslog) against hostile input:
 * a value is either accepted (defaults filled in) or refused with Kong's schema-violation error
 * naming the field — never another error, never a crash. Plus Kong's own messages for the cases
 * its schemas single out.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isGatehouseError } from '@gatehouse/shared';
import { loadPluginSchemas } from '../plugins/schemas.js';

const catalog = await loadPluginSchemas();
const LOG_PLUGINS = ['http-log', 'file-log', 'tcp-log', 'udp-log', 'syslog'] as const;

function outcome(name: string, config: unknown): { ok: Record<string, unknown> } | { fields: unknown } {
  try {
    return { ok: catalog.validateConfig(name, config, {}) };
  } catch (e) {
    if (isGatehouseError(e) && e.code === 'GH_ERR_ENTITY_SCHEMA_VIOLATION')
      return { fields: (e.details?.body as { fields?: unknown } | undefined)?.fields };
    throw e;
  }
}

const FIELDS = [
  'http_endpoint',
  'method',
  'content_type',
  'timeout',
  'keepalive',
  'retry_count',
  'queue_size',
  'flush_timeout',
  'headers',
  'queue',
  'custom_fields_by_lua',
  'path',
  'reopen',
  'host',
  'port',
  'tls',
  'tls_sni',
  'log_level',
  'successful_severity',
  'client_errors_severity',
  'server_errors_severity',
  'facility',
  '__proto__',
  'constructor',
] as const;

const hostileValue = fc.oneof(
  fc.anything(),
  fc.string(),
  fc.constantFrom('http://127.0.0.1:9/x', 'https://u:p@h/x', 'ftp://x', '/tmp/x.log', ' a', 'a*b', '%', '\0'),
  fc.double(),
  fc.integer({ min: -1e12, max: 1e12 }),
  fc.dictionary(fc.string(), fc.anything()),
  fc.record({
    max_batch_size: fc.anything(),
    max_bytes: fc.integer(),
    max_retry_time: fc.double(),
    concurrency_limit: fc.integer(),
  }),
);

describe('log plugin configs (hostile input)', () => {
  it('accepts or refuses with a schema violation, never anything else', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...LOG_PLUGINS),
        fc.oneof(fc.anything(), fc.dictionary(fc.constantFrom(...FIELDS), hostileValue)),
        (name, config) => {
          outcome(name, config);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("fills in Kong's defaults", () => {
    expect(outcome('http-log', { http_endpoint: 'http://logs.example/x' })).toEqual({
      ok: expect.objectContaining({
        method: 'POST',
        content_type: 'application/json',
        timeout: 10000,
        keepalive: 60000,
        queue: expect.objectContaining({
          max_batch_size: 1,
          max_coalescing_delay: 1,
          max_entries: 10000,
          max_retry_time: 60,
          initial_retry_delay: 0.01,
          max_retry_delay: 60,
        }),
      }),
    });
    expect(outcome('file-log', { path: '/tmp/a.log' })).toEqual({
      ok: expect.objectContaining({ reopen: false }),
    });
    expect(outcome('tcp-log', { host: 'h', port: 1 })).toEqual({
      ok: expect.objectContaining({ timeout: 10000, keepalive: 60000, tls: false }),
    });
    expect(outcome('syslog', {})).toEqual({
      ok: expect.objectContaining({ log_level: 'info', successful_severity: 'info', facility: 'user' }),
    });
  });

  it("refuses with Kong's messages", () => {
    expect(outcome('http-log', {})).toEqual({
      fields: { config: { http_endpoint: 'required field missing' } },
    });
    expect(outcome('http-log', { http_endpoint: 'http://h/', headers: { Host: 'x' } })).toEqual({
      fields: { config: { headers: { Host: "cannot contain 'Host' header" } } },
    });
    expect(
      outcome('http-log', { http_endpoint: 'http://u:p@h/', headers: { Authorization: 'x' } }),
    ).toMatchObject({
      fields: { config: expect.anything() },
    });
    expect(
      JSON.stringify(
        outcome('http-log', { http_endpoint: 'http://u:p@h/', headers: { Authorization: 'x' } }),
      ),
    ).toContain("specifying both an 'Authorization' header and user info in 'http_endpoint' is not allowed");
    expect(outcome('file-log', { path: 'a*b' })).toEqual({
      fields: { config: { path: 'not a valid filename' } },
    });
    expect(outcome('udp-log', { host: 'h', port: 70000 })).toEqual({
      fields: { config: { port: 'value should be between 0 and 65535' } },
    });
    expect(outcome('syslog', { facility: 'nope' })).toMatchObject({
      fields: { config: { facility: expect.stringContaining('expected one of') } },
    });
    expect(outcome('tcp-log', { host: 'h', port: 1, custom_fields_by_lua: { a: 'return 1' } })).toEqual({
      fields: { config: { custom_fields_by_lua: 'custom_fields_by_lua is not supported by Gatehouse' } },
    });
  });
});

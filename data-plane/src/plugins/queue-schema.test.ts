/**
 * Kong's `typedefs.queue` is defined once (queue-schema.ts): http-log, opentelemetry and zipkin
 * validate any `queue` value alike, apart from what each declares (max_batch_size's default;
 * concurrency_limit -1 refused by http-log), and hostile values are refused with a schema
 * violation naming `queue`, never another error.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isGatehouseError } from '@gatehouse/shared';
import { loadPluginSchemas } from './schemas.js';

const catalog = await loadPluginSchemas();
const BASE: Record<string, Record<string, unknown>> = {
  'http-log': { http_endpoint: 'http://127.0.0.1:9/logs' },
  opentelemetry: { traces_endpoint: 'http://127.0.0.1:9/v1/traces' },
  zipkin: { http_endpoint: 'http://127.0.0.1:9/api/v2/spans' },
};

function queueOf(name: string, queue: unknown): Record<string, unknown> | 'refused' {
  try {
    const config = catalog.validateConfig(name, { ...BASE[name], queue }, {});
    return config.queue as Record<string, unknown>;
  } catch (e) {
    if (isGatehouseError(e) && e.code === 'GH_ERR_ENTITY_SCHEMA_VIOLATION') {
      expect(JSON.stringify(e.details?.body)).toContain('queue');
      return 'refused';
    }
    throw e;
  }
}

const FIELDS = [
  'max_batch_size',
  'max_coalescing_delay',
  'max_entries',
  'max_bytes',
  'max_retry_time',
  'initial_retry_delay',
  'max_retry_delay',
  'concurrency_limit',
] as const;

const value = fc.oneof(
  fc.integer({ min: -2, max: 2_000_000 }),
  fc.double({ noNaN: false }),
  fc.constantFrom(-1, 0, 0.0005, 1, 3600, 3601, 1_000_000, 2 ** 31, null),
  fc.anything(),
);

describe("Kong's typedefs.queue, shared", () => {
  it('fills Kong defaults (max_batch_size 1 for http-log, 200 for the tracing plugins)', () => {
    const common = {
      max_coalescing_delay: 1,
      max_entries: 10_000,
      max_retry_time: 60,
      initial_retry_delay: 0.01,
      max_retry_delay: 60,
      concurrency_limit: 1,
    };
    expect(queueOf('http-log', undefined)).toMatchObject({ ...common, max_batch_size: 1 });
    expect(queueOf('opentelemetry', undefined)).toMatchObject({ ...common, max_batch_size: 200 });
    expect(queueOf('zipkin', {})).toMatchObject({ ...common, max_batch_size: 200 });
  });

  it('the three plugins agree on every queue value, but for what each declares', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...FIELDS), value), (queue) => {
        const [http, otel, zipkin] = ['http-log', 'opentelemetry', 'zipkin'].map((n) => queueOf(n, queue));
        expect(zipkin).toEqual(otel);
        // A key holding undefined is absent, as it would be once sent as JSON.
        const batchSet = queue.max_batch_size !== undefined;
        if (queue.concurrency_limit === -1) {
          expect(http).toBe('refused');
          return;
        }
        if (http === 'refused' || otel === 'refused') {
          expect(http).toEqual(otel);
          return;
        }
        if (batchSet) expect(http).toEqual(otel);
        else expect({ ...http, max_batch_size: 200 }).toEqual(otel);
      }),
      // The kept counterexample: a max_batch_size key holding undefined takes each plugin's default.
      { numRuns: 1500, examples: [[{ max_batch_size: undefined }]] },
    );
  });
});

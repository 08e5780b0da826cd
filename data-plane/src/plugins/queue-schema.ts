/**
 * Kong's `typedefs.queue` (kong/tools/queue_schema.lua), field for field, the one definition the
 * queued plugins share: the log plugins (`http-log`) and the tracing plugins (`opentelemetry`,
 * `zipkin`). Schema only: the control plane loads it through the plugins' `schema.ts` files.
 */
import * as schema from '@gatehouse/shared/schema/index';

const { t } = schema;

export interface QueueSchemaOptions {
  /** `max_batch_size`'s default: Kong's typedef says 1; opentelemetry and zipkin override it (200). */
  readonly maxBatchSize?: number;
  /**
   * The `concurrency_limit` values this plugin's sender honours. Kong accepts -1 (no queue, each
   * entry sent on its own) and 1; http-log delivers one batch at a time, so it accepts only 1.
   */
  readonly concurrencyLimits?: readonly number[];
}

/** Kong's `typedefs.queue` (defaults and ranges of Kong 3.x; absent = every default). */
export function queueSchema(options: QueueSchemaOptions = {}) {
  const concurrency = options.concurrencyLimits ?? [-1, 1];
  return t.record(
    {
      max_batch_size: t.integer({
        required: true,
        default: options.maxBatchSize ?? 1,
        between: [1, 1_000_000],
        description: 'Maximum number of entries that can be processed at a time.',
      }),
      max_coalescing_delay: t.number({
        required: true,
        default: 1,
        between: [0, 3600],
        description:
          'Maximum number of (fractional) seconds to elapse after the first entry was queued before the queue starts calling the handler.',
      }),
      max_entries: t.integer({
        required: true,
        default: 10_000,
        between: [1, 1_000_000],
        description: 'Maximum number of entries that can be waiting on the queue.',
      }),
      max_bytes: t.integer({
        between: [1, 2 ** 31 - 1],
        description: 'Maximum number of bytes that can be waiting on a queue, requires string content.',
      }),
      max_retry_time: t.number({
        required: true,
        default: 60,
        between: [-1, 1_000_000],
        description:
          'Time in seconds before the queue gives up calling a failed handler for a batch (-1: no retries).',
      }),
      initial_retry_delay: t.number({
        required: true,
        default: 0.01,
        between: [0.001, 1_000_000],
        description: 'Time in seconds before the initial retry is made for a failing batch.',
      }),
      max_retry_delay: t.number({
        required: true,
        default: 60,
        between: [0.001, 1_000_000],
        description: 'Maximum time in seconds between retries, caps exponential backoff.',
      }),
      concurrency_limit: t.integer({
        required: true,
        default: 1,
        one_of: concurrency,
        description: concurrency.includes(-1)
          ? 'The number of queue delivery timers. -1 indicates unlimited.'
          : 'The number of queue delivery timers. Gatehouse delivers one batch at a time per queue (Kong also accepts -1).',
      }),
    },
    { required: true, default: {}, description: "The plugin's queue (Kong's typedefs.queue)." },
  );
}

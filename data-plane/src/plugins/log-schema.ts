/**
 * Schema pieces every log plugin shares: Kong's `typedefs.queue` (kong/tools/queue_schema.lua)
 * and `custom_fields_by_lua`, which Gatehouse refuses (it runs no Lua). Schema-only: the control
 * plane loads this through the plugins' `schema.ts` files.
 */
import { schema } from '@gatehouse/shared';

const { t } = schema;

/** Kong's `typedefs.queue`, field for field (defaults and ranges of Kong 3.x). */
export const queueSchema = () =>
  t.record(
    {
      max_batch_size: t.integer({
        default: 1,
        between: [1, 1_000_000],
        description: 'Maximum number of entries that can be processed at a time.',
      }),
      max_coalescing_delay: t.number({
        default: 1,
        between: [0, 3600],
        description:
          'Maximum number of (fractional) seconds to elapse after the first entry was queued before the queue starts calling the handler.',
      }),
      max_entries: t.integer({
        default: 10_000,
        between: [1, 1_000_000],
        description: 'Maximum number of entries that can be waiting on the queue.',
      }),
      max_bytes: t.integer({
        between: [1, 2 ** 31 - 1],
        description: 'Maximum number of bytes that can be waiting on a queue, requires string content.',
      }),
      max_retry_time: t.number({
        default: 60,
        between: [-1, 1_000_000],
        description: 'Time in seconds before the queue gives up calling a failed handler for a batch.',
      }),
      initial_retry_delay: t.number({
        default: 0.01,
        between: [0.001, 1_000_000],
        description: 'Time in seconds before the initial retry is made for a failing batch.',
      }),
      max_retry_delay: t.number({
        default: 60,
        between: [0.001, 1_000_000],
        description: 'Maximum time in seconds between retries, caps exponential backoff.',
      }),
      concurrency_limit: t.integer({
        default: 1,
        one_of: [1],
        description:
          'The number of queue delivery timers. Gatehouse delivers one batch at a time per queue (Kong also accepts -1).',
      }),
    },
    { required: true },
  );

/** Kong's `custom_fields_by_lua`: accepted only empty or null, as Gatehouse runs no Lua. */
export const customFieldsByLua = () =>
  t.map(t.string({ len_min: 1 }), t.string({ len_min: 1 }), {
    description: 'Not supported by Gatehouse (no Lua): must be absent, null or empty.',
    custom_validator: (m: Record<string, unknown>) =>
      Object.keys(m).length === 0 ? null : 'custom_fields_by_lua is not supported by Gatehouse',
  });

/** Kong's `number` timeouts of the log plugins (milliseconds): positive, at most Kong's MAX_TIMEOUT. */
export const logTimeout = (description: string) =>
  t.number({ default: 10_000, between: [1, schema.typedefs.MAX_TIMEOUT], description });

/** Kong's `keepalive` of the log plugins (milliseconds an idle connection is kept). */
export const logKeepalive = (description: string) =>
  t.number({ default: 60_000, between: [0, schema.typedefs.MAX_TIMEOUT], description });

const HOST = schema.typedefs.host();

/** Kong's `typedefs.host({ required = true })` of tcp-log and udp-log. */
export const logHost = (description: string) =>
  t.string({
    required: true,
    len_min: 1,
    len_max: schema.typedefs.HOST_MAX,
    custom_validator: (v: string) => HOST.custom_validator?.(v) ?? null,
    description,
  });

/** Kong's `typedefs.port({ required = true })`. */
export const logPort = (description: string) =>
  t.integer({ required: true, between: [0, 65535], description });

/**
 * Schema pieces every log plugin shares: `custom_fields_by_lua`, which Gatehouse refuses (it runs
 * no Lua), timeouts, hosts and ports (the `queue` record is plugins/queue-schema.ts). Schema-only:
 * the control plane loads this through the plugins' `schema.ts` files.
 */
import * as schema from '@gatehouse/shared/schema/index';

const { t } = schema;

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

/**
 * The gateway's own answers as plugins send them: status, Kong's message and the answer's extra
 * headers come from the one error table (`proxy/errors.ts`), so no plugin writes them again.
 */
import type { HeaderValue, PluginContext } from '../api.js';
import { errorResponseOf, messageOf, type ProxyErrorCode } from '../../proxy/errors.js';

/**
 * Short-circuits with the table's answer for `code`: `status` overrides the table's status
 * (request-size-limiting's 417 carries the 413's message, as in Kong); `subject` fills the
 * message of an answer that names what failed (the anonymous consumer); `message` replaces the
 * table's message where the plugin's config sets it (rate-limiting's `error_message`);
 * `headers` are added to the answer's.
 */
export function respondError(
  ctx: PluginContext,
  code: ProxyErrorCode,
  options: {
    status?: number;
    subject?: string;
    message?: string;
    headers?: Record<string, HeaderValue>;
  } = {},
): void {
  const answer = errorResponseOf(code);
  // A copy: the context keeps (and may add to) the headers of its short-circuit.
  ctx.respond(options.status ?? answer.status, options.message ?? messageOf(code, options.subject), {
    ...options.headers,
    ...answer.extraHeaders,
    'x-gatehouse-error-code': code,
  });
}

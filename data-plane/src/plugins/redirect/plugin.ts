/**
 * redirect (Kong 3.9, priority 779): answers every request with `status_code` and
 * `Location: location`, without calling the upstream. With `keep_incoming_path`, the location's
 * path and query string are replaced by the request's (as the client sent them); its scheme,
 * host, port and fragment stay. The body is Kong's `redirecting` (text/plain).
 */
import { definePlugin } from '../api.js';
import { redirectSpec } from './schema.js';

const BODY = Buffer.from('redirecting');
const TYPE = 'text/plain; charset=utf-8';

interface State {
  readonly status: number;
  /** The configured location, parsed once (null: sent as configured). */
  readonly base: URL | null;
  readonly location: string;
}

export default definePlugin({
  ...redirectSpec,
  init(config): State {
    return {
      status: config.status_code,
      base: config.keep_incoming_path ? new URL(config.location) : null,
      location: config.location,
    };
  },
  access(ctx, state) {
    let location = state.location;
    if (state.base !== null) {
      const url = new URL(state.base);
      url.pathname = ctx.request.rawPath;
      url.search = ctx.request.rawQuery;
      location = url.href;
    }
    ctx.respond(state.status, BODY, { location, 'content-type': TYPE });
  },
});

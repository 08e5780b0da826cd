/**
 * ip-restriction (Kong priority 990): refuses clients by address. The deny list is checked first,
 * then the allow list (a client outside a non-empty allow list is refused). Lists are compiled
 * into CIDR sets once per snapshot; a request costs one parse of its client IP and one probe per
 * distinct prefix length. The client IP honours the DP's trusted_ips (see net/client-ip.ts), so a
 * spoofed X-Forwarded-For from an untrusted peer cannot get around it.
 */
import { definePlugin } from '../api.js';
import { CidrSet, parseIp } from '../../net/cidr.js';
import { ipRestrictionSpec } from './schema.js';

export const DEFAULT_STATUS = 403;
export const DEFAULT_MESSAGE = 'Your IP address is not allowed';
export const UNKNOWN_IP_MESSAGE =
  'Cannot identify the client IP address, unix domain sockets are not supported.';

interface State {
  readonly allow: CidrSet | null;
  readonly deny: CidrSet | null;
  readonly status: number;
  readonly message: string;
}

function compile(list: string[] | null): CidrSet | null {
  return list === null || list.length === 0 ? null : CidrSet.compile(list);
}

export default definePlugin({
  ...ipRestrictionSpec,
  init(config): State {
    return {
      allow: compile(config.allow),
      deny: compile(config.deny),
      status: config.status ?? DEFAULT_STATUS,
      message: config.message ?? DEFAULT_MESSAGE,
    };
  },
  access(ctx, state) {
    const clientIp = ctx.request.clientIp;
    const ip = parseIp(clientIp);
    if (ip === null) {
      ctx.log.warn({ clientIp }, 'ip-restriction: cannot identify the client IP address');
      ctx.respond(DEFAULT_STATUS, UNKNOWN_IP_MESSAGE);
      return;
    }
    if ((state.deny !== null && state.deny.has(ip)) || (state.allow !== null && !state.allow.has(ip))) {
      ctx.log.warn({ clientIp }, 'ip-restriction: IP address not allowed');
      ctx.respond(state.status, state.message);
    }
  },
});

/**
 * syslog (Kong priority 4): sends each request's log entry (Kong's serializer shape, JSON) as a
 * syslog message, with the severity chosen by the response status (`server_errors_severity` for
 * 5xx, `client_errors_severity` for 4xx, `successful_severity` otherwise) and sent only when that
 * severity is at least as severe as `log_level`, as Kong does.
 *
 * Transport (our choice, documented in docs/observability.md): RFC 5424 over UDP to the data
 * plane's syslog server (`--syslog-server`, default 127.0.0.1:514), the app name `kong` as Kong's
 * `lsyslog.open("kong", …)`. Kong writes to the local syslog(3) socket `/dev/log`, a Unix datagram
 * socket node cannot open; rsyslog and syslog-ng listen on UDP 514 when asked to.
 */
import { hostname } from 'node:os';
import { definePlugin } from '../api.js';
import { logCounters } from '../../observe/log-queue.js';
import { UdpSink } from '../../observe/udp-sink.js';
import { FACILITIES, SEVERITIES, syslogSpec } from './schema.js';

const counters = logCounters('syslog');
const APP_NAME = 'kong';
const HOST = hostname().replace(/[^\x21-\x7e]/g, '') || '-';

/** Where syslog messages go: set once per worker from the DP settings. */
let server = { host: '127.0.0.1', port: 514 };
let sink: UdpSink | null = null;

/** Sets the syslog server of this process (--syslog-server); the next message uses it. */
export function configureSyslog(address: { host: string; port: number }): void {
  server = address;
  sink = null;
}

type Severity = (typeof SEVERITIES)[number];
const rank = (s: string): number => SEVERITIES.indexOf(s as Severity);

interface State {
  /** The PRI value per status class (5xx, 4xx, other), or -1 when that class is not sent. */
  readonly pri: readonly [number, number, number];
}

/** The RFC 5424 line for `message` at priority `pri`. */
export function rfc5424(pri: number, message: string, at: Date = new Date()): string {
  return `<${pri}>1 ${at.toISOString()} ${HOST} ${APP_NAME} ${process.pid} - - ${message}`;
}

export default definePlugin({
  ...syslogSpec,
  init(config): State {
    const facility = FACILITIES[config.facility];
    const level = rank(config.log_level);
    const pri = (severity: string): number => {
      const r = rank(severity);
      return r <= level ? facility * 8 + r : -1;
    };
    return {
      pri: [
        pri(config.server_errors_severity),
        pri(config.client_errors_severity),
        pri(config.successful_severity),
      ],
    };
  },
  log(ctx, state) {
    const entry = ctx.serialize();
    const status = entry.response.status;
    const pri = state.pri[status >= 500 ? 0 : status >= 400 ? 1 : 2];
    if (pri < 0) return;
    sink ??= new UdpSink(server.host, server.port, counters);
    sink.send(rfc5424(pri, JSON.stringify(entry)));
  },
});

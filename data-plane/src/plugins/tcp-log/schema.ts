import * as schema from '@gatehouse/shared/schema/index';
import { definePluginSpec, type PluginConfig } from '../api.js';
import { customFieldsByLua, logHost, logPort, logKeepalive, logTimeout } from '../log-schema.js';

const { t, typedefs } = schema;

/** Kong's tcp-log schema (kong/plugins/tcp-log/schema.lua). */
const tcpLogSchema = t.record({
  host: logHost('The IP address or host name to send data to.'),
  port: logPort('The port to send data to on the upstream server.'),
  timeout: logTimeout('An optional timeout in milliseconds when sending data to the upstream server.'),
  keepalive: logKeepalive(
    'An optional value in milliseconds that defines how long an idle connection lives before being closed.',
  ),
  tls: t.boolean({
    required: true,
    default: false,
    description: 'Indicates whether to perform a TLS handshake against the remote server.',
  }),
  tls_sni: t.string({
    len_min: 1,
    len_max: typedefs.HOST_MAX,
    description:
      'An optional string that defines the SNI (Server Name Indication) hostname to send in the TLS handshake.',
  }),
  custom_fields_by_lua: customFieldsByLua(),
});

export const tcpLogSpec = definePluginSpec({
  name: 'tcp-log',
  version: '1.0.0',
  priority: 7,
  schema: tcpLogSchema,
});

export type TcpLogConfig = PluginConfig<typeof tcpLogSpec.schema>;

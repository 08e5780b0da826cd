import * as schema from '@gatehouse/shared/schema/index';
import { definePluginSpec, type PluginConfig } from '../api.js';
import { customFieldsByLua, logHost, logPort, logTimeout } from '../log-schema.js';

const { t } = schema;

/** Kong's udp-log schema (kong/plugins/udp-log/schema.lua). */
const udpLogSchema = t.record({
  host: logHost('The IP address or host name to send data to.'),
  port: logPort('The port to send data to on the upstream server.'),
  timeout: logTimeout('An optional timeout in milliseconds when sending data to the upstream server.'),
  custom_fields_by_lua: customFieldsByLua(),
});

export const udpLogSpec = definePluginSpec({
  name: 'udp-log',
  version: '1.0.0',
  priority: 8,
  schema: udpLogSchema,
});

export type UdpLogConfig = PluginConfig<typeof udpLogSpec.schema>;

// What per-slice snapshots cost the control plane: CPU ms of slicing (sliceConfig), encoding and
// signing one slice, next to encoding + signing the whole config, at 10,000 routes (each with a
// service and a plugin) with a share of them scoped to eu. CPU time (process.cpuUsage), median of
// interleaved rounds, so a busy machine slows all rows alike.
//   node test/bench/slice-cost.mjs [routes=10000] [rounds=7]
import {
  SERVICE_DEFAULTS,
  ROUTE_DEFAULTS,
  emptyConfig,
  generateSigningKeyPair,
  encodeConfig,
  regionTag,
  signEncodedSnapshot,
  sliceConfig,
  scopeUniverse,
  configSliceKey,
} from '../../shared/dist/index.js';

const ROUTES = Number(process.argv[2] ?? 10_000);
const ROUNDS = Number(process.argv[3] ?? 7);
const config = emptyConfig();
for (let i = 0; i < ROUTES; i++) {
  const tags = i % 10 === 0 ? [regionTag('eu')] : null; // 10 % eu-only
  config.services.push({
    ...SERVICE_DEFAULTS,
    id: `s${i}`,
    name: `s${i}`,
    host: `h${i}.local`,
    tags,
    created_at: 1,
    updated_at: 1,
  });
  config.routes.push({
    ...ROUTE_DEFAULTS,
    id: `r${i}`,
    name: `r${i}`,
    paths: [`/p${i}`],
    service: { id: `s${i}` },
    created_at: 1,
    updated_at: 1,
  });
  config.plugins.push({
    id: `p${i}`,
    name: 'cors',
    instance_name: null,
    config: {},
    protocols: ['http'],
    enabled: true,
    service: null,
    route: { id: `r${i}` },
    consumer: null,
    consumer_group: null,
    tags: null,
    created_at: 1,
    updated_at: 1,
  });
}
const pair = await generateSigningKeyPair();
const { createPrivateKey } = await import('node:crypto');
const key = { kid: pair.kid, key: createPrivateKey({ key: pair.privateJwk, format: 'jwk' }) };

const cpuMs = async (fn) => {
  const c = process.cpuUsage();
  await fn();
  const d = process.cpuUsage(c);
  return (d.user + d.system) / 1000;
};
const sign = ({ bytes, hash }) => signEncodedSnapshot({ bytes, hash, version: 1n, cpId: 'cp', key });
const rows = {
  'whole config: encode + sign': [],
  'placement key (universe + project)': [],
  'slice (us): sliceConfig': [],
  'slice (us): sliceConfig + encode + sign': [],
};
for (let r = 0; r < ROUNDS; r++) {
  rows['whole config: encode + sign'].push(await cpuMs(() => sign(encodeConfig(config))));
  rows['placement key (universe + project)'].push(
    await cpuMs(() => configSliceKey(scopeUniverse(config), { region: 'us', labels: {} })),
  );
  rows['slice (us): sliceConfig'].push(await cpuMs(() => sliceConfig(config, { region: 'us', labels: {} })));
  rows['slice (us): sliceConfig + encode + sign'].push(
    await cpuMs(() => sign(encodeConfig(sliceConfig(config, { region: 'us', labels: {} })))),
  );
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log(`${ROUTES} routes/services/plugins, 10 % of services scoped to eu; CPU ms, median of ${ROUNDS}`);
for (const [name, v] of Object.entries(rows)) console.log(`${name.padEnd(45)} ${median(v).toFixed(1)}`);

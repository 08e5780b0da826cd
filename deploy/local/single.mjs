// `gatehouse dev` with no fleet flags: one control plane and one data plane on embedded
// defaults (PGlite, dev keys, no NATS), supervised; the README tour relies on this shape.
import { join } from 'node:path';
import { controlPlaneCommand, controlPlaneEnv, dataPlaneCommand } from './children.mjs';
import { Supervisor } from './supervisor.mjs';

export async function runSingle({ dataDir, ports, workers }) {
  const cpDir = join(dataDir, 'cp');
  const supervisor = new Supervisor();
  const cp = supervisor.add('cp', 'the control plane', () =>
    controlPlaneCommand({
      dir: cpDir,
      adminPort: ports.admin,
      guiPort: ports.adminGui,
      clusterPort: ports.cluster,
      env: controlPlaneEnv(),
    }),
  );
  const dp = supervisor.add('dp', 'the data plane', () =>
    dataPlaneCommand({
      dir: join(dataDir, 'dp'),
      keysDir: cpDir,
      controlPlanes: [`127.0.0.1:${ports.cluster}`],
      ports,
      workers,
    }),
  );
  // The DP needs the dev keys the CP writes on its first start, so the CP goes first.
  if (!(await supervisor.firstStart(cp)) || !(await supervisor.firstStart(dp))) return;
  process.stdout.write(`
Gatehouse is up (data in ${dataDir}):
  Admin UI       http://127.0.0.1:${ports.adminGui}
  Admin API      http://127.0.0.1:${ports.admin}        e.g. curl -s localhost:${ports.admin}/services
  Proxy          http://127.0.0.1:${ports.proxy}    https://127.0.0.1:${ports.proxySsl}
  DP status      http://127.0.0.1:${ports.status}/status   /status/ready   /metrics
  Cluster gRPC   127.0.0.1:${ports.cluster}    mutual TLS (certificates in ${join(cpDir, 'cluster')})
  Data planes    http://127.0.0.1:${ports.admin}/clustering/data-planes
  Processes      cp pid ${cp.pid} (also in ${join(cpDir, 'cp.lock')}), dp pid ${dp.pid}
A process that exits is restarted. Press Ctrl-C to stop.
`);
}

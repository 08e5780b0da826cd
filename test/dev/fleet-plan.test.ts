/**
 * The port plan of `gatehouse dev --control-planes N --data-planes ...` (deploy/local/fleet.mjs):
 * with 0 base ports every process gets its own free port, never one another process of the fleet
 * was given (CI once saw a DP's status port equal a CP's admin port), and with fixed bases two
 * colliding ports are refused with a sentence naming both.
 */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePortPool, planFleet, PORT_STRIDE } from '../../deploy/local/fleet.mjs';

const listenOn = (port: number) =>
  new Promise<string>((resolve) => {
    const s = createServer();
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve('listening')));
  });

describe('fleet port plan', () => {
  it('holds each free port it handed out until release, so the OS cannot hand it out again', async () => {
    const pool = freePortPool();
    const port = await pool.take();
    expect(await listenOn(port)).toBe('EADDRINUSE');
    await pool.release();
    expect(await listenOn(port)).toBe('listening');
  });

  it('gives every process of a large fleet distinct free ports when the bases are 0', async () => {
    for (let round = 0; round < 5; round++) {
      const plan = await planFleet({
        dataDir: '/tmp/fleet-plan-test',
        cpCount: 5,
        regions: [
          { region: 'eu', count: 10 },
          { region: 'us', count: 10 },
        ],
        ports: { admin: 0, cluster: 0, proxy: 0, status: 0 },
      });
      expect(plan.problem).toBeUndefined();
      const ports = [
        ...plan.value!.cps.flatMap((c) => [c.adminPort, c.clusterPort]),
        ...plan.value!.dps.flatMap((d) => [d.ports.proxy, d.ports.status]),
      ];
      expect(new Set(ports).size).toBe(ports.length);
    }
  });

  it('refuses fixed bases whose strides collide, naming both processes', async () => {
    const plan = await planFleet({
      dataDir: '/tmp/fleet-plan-test',
      cpCount: 3,
      regions: [{ region: 'eu', count: 2 }],
      ports: { admin: 9000, cluster: 9001, proxy: 9000 + PORT_STRIDE, status: 9005 },
    });
    expect(plan.problem).toBe(
      `dp-eu-1 proxy and cp-2 admin would both be port ${9000 + PORT_STRIDE} (ports go up by ${PORT_STRIDE} per process): give other base ports, or 0 for free ports`,
    );
  });
});

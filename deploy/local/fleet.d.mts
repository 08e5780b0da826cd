// Types of fleet.mjs, for the tests that import it.
import type { RegionCount } from './fleet-args.mjs';

export const PORT_STRIDE: number;
export const FLEET_FILE: string;
export function fleetEnvironmentProblem(cpCount: number): string | null;
export function freePortPool(): { take(): Promise<number>; release(): Promise<void> };
export interface PlannedControlPlane {
  id: string;
  dir: string;
  adminPort: number;
  clusterPort: number;
}
export interface PlannedDataPlane {
  id: string;
  region: string;
  dir: string;
  home: string;
  controlPlanes: string[];
  ports: { proxy: number; status: number };
}
export function planFleet(opts: {
  dataDir: string;
  cpCount: number;
  regions: RegionCount[];
  ports: { admin: number; cluster: number; proxy: number; status: number };
}): Promise<
  | { value: { cps: PlannedControlPlane[]; dps: PlannedDataPlane[] }; problem?: undefined }
  | { value?: undefined; problem: string }
>;
export function runFleet(opts: unknown): Promise<unknown>;

// Types of fleet-args.mjs, for the tests that import it.
export type Parsed<T> = { value: T; problem?: undefined } | { value?: undefined; problem: string };
export interface RegionCount {
  region: string;
  count: number;
}
export const MAX_CONTROL_PLANES: number;
export const MAX_DATA_PLANES: number;
export const REGION: RegExp;
export function parseControlPlaneCount(text: string): Parsed<number>;
export function parseDataPlanes(text: string): Parsed<RegionCount[]>;
export function parsePort(text: string, opts: { allowZero: boolean }): Parsed<number>;

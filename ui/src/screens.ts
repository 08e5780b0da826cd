// The navigation: one list of screens, each `#/path` in the shell. Configuration screens (Kong
// Manager's entities) come from entity-screens.ts, operations screens (what only Gatehouse shows:
// the fleet, traffic, history) from ops-screens.ts; the shell reads only this list.
import type { Component } from 'vue';
import { entityScreens } from './entity-screens';
import { opsScreens } from './ops-screens';

export interface Screen {
  /** The hash path, `#/${path}`; a screen may also answer `#/${path}/<sub>` (see `matches`). */
  path: string;
  title: string;
  /** Navigation group heading. */
  group: 'Configuration' | 'Operations';
  view: Component;
}

export const screens: readonly Screen[] = [...entityScreens, ...opsScreens];

/** The screen a location hash shows: `#/path` or `#/path/...`; the first screen otherwise. */
export function screenFor(hash: string): Screen {
  const path = hash.replace(/^#\/?/, '').split(/[/?]/)[0] ?? '';
  return screens.find((s) => s.path === path) ?? screens[0]!;
}

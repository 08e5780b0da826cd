// The navigation: one list of screens, each `#/path` in the shell. Configuration screens (Kong
// Manager's entities) come from entity-screens.ts, operations screens (what only Gatehouse shows:
// the fleet, traffic, history) from ops-screens.ts, RBAC's (Kong Manager's Teams) from
// team-screens.ts; the shell reads only this list.
import type { Component } from 'vue';
import { entityScreens } from './entity-screens';
import { opsScreens } from './ops-screens';
import { pickScreen } from './screen-path';
import { can } from './session';
import { teamScreens } from './team-screens';

export interface Screen {
  /** The hash path, `#/${path}`; a screen may also answer `#/${path}/<sub>` (see `matches`). */
  path: string;
  title: string;
  /** Navigation group heading. */
  group: 'Configuration' | 'Operations' | 'Teams';
  view: Component;
  /** The Admin API collection the screen lists: the screen is left out for a role that cannot read it. */
  reads?: string;
}

export const screens: readonly Screen[] = [...entityScreens, ...opsScreens, ...teamScreens];

/** The screens the signed-in identity may read (every screen without RBAC). */
export function visibleScreens(): Screen[] {
  return screens.filter((s) => s.reads === undefined || can('GET', s.reads));
}

/** The screen a location hash shows among the visible ones: `#/path` or `#/path/...`; the first otherwise. */
export function screenFor(hash: string): Screen {
  return pickScreen(visibleScreens(), hash) ?? screens[0]!;
}

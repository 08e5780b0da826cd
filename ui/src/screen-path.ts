/**
 * Which screen a location hash names (pure: no Vue, so it is unit-tested). `#/path` or
 * `#/path/<sub>` or `#/path?query` is the screen `path`; anything else (empty, unknown, a screen
 * the signed-in role may not read) is the first screen of the list.
 */
export interface ScreenRef {
  path: string;
}

/** The first segment of a hash route: `#/services/abc?x` → `services`. */
export function screenPath(hash: string): string {
  return hash.replace(/^#\/?/, '').split(/[/?]/)[0] ?? '';
}

export function pickScreen<S extends ScreenRef>(list: readonly S[], hash: string): S | undefined {
  const path = screenPath(hash);
  return list.find((s) => s.path === path) ?? list[0];
}

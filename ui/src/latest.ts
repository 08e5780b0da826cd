/**
 * Loads that overlap (a reload after a save while the first load is still out, Next clicked twice,
 * a filter applied mid-page): only the one begun last may show its answer. An earlier answer that
 * comes later would otherwise put an old page back on the screen.
 */
export class LatestOnly {
  private begun = 0;

  /** Marks a load begun; the function says whether it is still the latest one. */
  begin(): () => boolean {
    const mine = ++this.begun;
    return () => mine === this.begun;
  }
}

import { describe, expect, it } from 'vitest';
import { LatestOnly } from './latest';

describe('LatestOnly', () => {
  it('lets only the load begun last show its answer, whichever answers first', async () => {
    const loads = new LatestOnly();
    const shown: string[] = [];
    const load = async (answer: string, delayMs: number) => {
      const current = loads.begin();
      await new Promise((r) => setTimeout(r, delayMs));
      if (current()) shown.push(answer);
    };
    // The first load answers last: its old page must not replace the newer one.
    await Promise.all([load('old page', 30), load('new page', 1)]);
    expect(shown).toEqual(['new page']);
  });

  it('keeps a lone load current', () => {
    const loads = new LatestOnly();
    const current = loads.begin();
    expect(current()).toBe(true);
    loads.begin();
    expect(current()).toBe(false);
  });
});

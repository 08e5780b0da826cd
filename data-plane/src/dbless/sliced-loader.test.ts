import { describe, expect, it } from 'vitest';
import { emptyConfig, regionTag, type GatehouseConfig } from '@gatehouse/shared';
import { slicedLoader } from './declarative-source.js';

describe('a DB-less DP slices its file for its own region and labels', () => {
  const file = (): GatehouseConfig => {
    const c = emptyConfig();
    (c as unknown as { routes: unknown[] }).routes = [
      { id: 'all', tags: null },
      { id: 'eu', tags: [regionTag('eu')] },
      { id: 'us', tags: [regionTag('us')] },
    ];
    return c;
  };
  const routes = async (region: string) =>
    (await slicedLoader(async () => file(), { region, labels: {} })('kong.yml')).routes.map((r) => r.id);

  it('keeps the unscoped entities and those scoped to its region', async () => {
    expect(await routes('eu')).toEqual(['all', 'eu']);
    expect(await routes('us')).toEqual(['all', 'us']);
    expect(await routes('')).toEqual(['all']);
  });
});

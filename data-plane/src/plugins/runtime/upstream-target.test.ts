import { describe, expect, it } from 'vitest';
import { pluginRequest, snapshotOf } from './test-support.js';

const EMPTY = snapshotOf({});

describe('PluginContext.setUpstreamDestination', () => {
  it('refuses anything but a destination planned by InitContext.destination', () => {
    const ctx = pluginRequest(EMPTY);
    expect(() => ctx.setUpstreamDestination({ label: 'x', upstream: null, healthy: () => true })).toThrow(
      TypeError,
    );
  });
});

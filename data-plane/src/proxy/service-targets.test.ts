import { describe, expect, it } from 'vitest';
import { completeConfig, SERVICE_DEFAULTS, type Service } from '@gatehouse/shared';
import { compileUpstreams } from '../balancer/balancers.js';
import { compileTargets } from './service-targets.js';

const service = (id: string, fields: Partial<Service> = {}): Service => ({
  ...SERVICE_DEFAULTS,
  id,
  name: id,
  host: '127.0.0.1',
  port: 8080,
  created_at: 1,
  updated_at: 1,
  ...fields,
});

function targetsOf(services: Service[]) {
  const config = completeConfig({ services });
  const compiled = compileTargets(config, compileUpstreams(config, null));
  return { compiled, targets: services.map((s) => compiled.targetFor(s)) };
}

describe('compileTargets', () => {
  it('gives directly proxied services with equal targets one target object', () => {
    const { compiled, targets } = targetsOf([service('a'), service('b'), service('c', { path: '/v1' })]);
    expect(targets[0]).toBe(targets[1]);
    expect(targets[2]).not.toBe(targets[0]);
    expect(targets[2]).toMatchObject({ servicePath: '/v1', hostHeader: '127.0.0.1:8080' });
    expect(compiled.targets).toHaveLength(2);
    expect(compiled.pools.size).toBe(1);
  });

  it('keeps targets apart when the host header, read timeout or pool differ', () => {
    const { targets } = targetsOf([
      service('a'),
      service('b', { read_timeout: 5 }),
      service('c', { connect_timeout: 5 }),
      service('d', { host: 'localhost' }),
    ]);
    expect(new Set(targets).size).toBe(4);
  });

  it('warns once about a service it does not proxy, however many routes ask', () => {
    const tcp = service('t', { protocol: 'tcp' });
    const config = completeConfig({ services: [tcp] });
    const compiled = compileTargets(config, compileUpstreams(config, null));
    expect(compiled.targetFor(tcp)).toBeNull();
    expect(compiled.targetFor(tcp)).toBeNull();
    expect(compiled.warnings).toHaveLength(1);
  });
});

describe('compileTargets: alternate destinations (targetAt)', () => {
  it('builds the service sent elsewhere once, with its own pool and Host, keeping path and timeouts', () => {
    const s = service('a', { path: '/v1', read_timeout: 7 });
    const config = completeConfig({ services: [s] });
    const compiled = compileTargets(config, compileUpstreams(config, null));
    const primary = compiled.targetFor(s);
    const alt = compiled.targetAt(s, '10.0.0.9', 9090);
    expect(alt).not.toBe(primary);
    expect(alt).toMatchObject({ hostHeader: '10.0.0.9:9090', servicePath: '/v1', readTimeout: 7 });
    expect(compiled.targetAt(s, '10.0.0.9', 9090)).toBe(alt);
    expect(compiled.pools.has(alt!.poolKey!)).toBe(true);
    expect(compiled.targets).toContain(alt);
    // Sent to its own host and port, it is its own target.
    expect(compiled.targetAt(s, '127.0.0.1', 8080)).toBe(primary);
  });

  it('gives no alternate for a service it does not proxy', () => {
    const tcp = service('t', { protocol: 'tcp' });
    const config = completeConfig({ services: [tcp] });
    expect(compileTargets(config, compileUpstreams(config, null)).targetAt(tcp, 'x', 1)).toBeNull();
  });
});

import { describe, expect, it } from 'vitest';
import { authority, parseTarget } from './target-address.js';

describe('Kong target strings', () => {
  it('parses host:port, defaults the port to 8000, handles IPv6', () => {
    expect(parseTarget('Example.com:9000')).toEqual({ host: 'example.com', port: 9000 });
    expect(parseTarget('10.0.0.1')).toEqual({ host: '10.0.0.1', port: 8000 });
    expect(parseTarget('[::1]:81')).toEqual({ host: '::1', port: 81 });
    expect(parseTarget('::1')).toEqual({ host: '::1', port: 8000 });
    expect(parseTarget('host:0')).toBeNull();
    expect(parseTarget('host:x')).toBeNull();
    expect(authority('::1', 81)).toBe('[::1]:81');
  });
});

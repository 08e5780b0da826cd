import { describe, expect, it } from 'vitest';
import { HTTP2_DEFAULTS, headerListSize, http2Settings } from './http2-edge.js';

describe('HTTP/2 settings', () => {
  it('defaults to on for both listeners, 128 streams, 32 KiB of headers', () => {
    expect(http2Settings()).toEqual({
      tls: true,
      cleartext: true,
      maxConcurrentStreams: 128,
      maxHeaderListSize: 32768,
    });
    expect(http2Settings({ cleartext: false })).toEqual({ ...HTTP2_DEFAULTS, cleartext: false });
  });

  it('refuses a bad value, naming it', () => {
    expect(() => http2Settings({ maxConcurrentStreams: 0 })).toThrow(/maxConcurrentStreams .* got 0/);
    expect(() => http2Settings({ maxConcurrentStreams: 70_000 })).toThrow(/got 70000/);
    expect(() => http2Settings({ maxHeaderListSize: 100 })).toThrow(/maxHeaderListSize .* got 100/);
    expect(() => http2Settings({ maxHeaderListSize: 1.5 })).toThrow(/got 1.5/);
    expect(() => http2Settings({ tls: 'yes' as unknown as boolean })).toThrow(/tls .* got yes/);
  });

  it('counts a header list as SETTINGS_MAX_HEADER_LIST_SIZE does (name + value + 32)', () => {
    expect(headerListSize([])).toBe(0);
    expect(headerListSize([':path', '/', 'host', 'a.test'])).toBe(5 + 1 + 32 + 4 + 6 + 32);
  });
});

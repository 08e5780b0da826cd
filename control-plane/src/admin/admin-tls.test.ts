import { describe, expect, it } from 'vitest';
import { parseAdminSslListen } from './admin-tls.js';

describe('--admin-ssl-listen', () => {
  it('defaults to the admin host on 8444 beside 8001, an ephemeral port beside 0, off beside any other', () => {
    expect(parseAdminSslListen(undefined, { host: '127.0.0.1', port: 8001 })).toEqual({
      host: '127.0.0.1',
      port: 8444,
    });
    expect(parseAdminSslListen(undefined, { host: '0.0.0.0', port: 0 })).toEqual({
      host: '0.0.0.0',
      port: 0,
    });
    expect(parseAdminSslListen(undefined, { host: '127.0.0.1', port: 9001 })).toBeNull();
  });

  it('takes host:port or off, and names the setting for anything else', () => {
    const admin = { host: '127.0.0.1', port: 8001 };
    expect(parseAdminSslListen('0.0.0.0:9444', admin)).toEqual({ host: '0.0.0.0', port: 9444 });
    expect(parseAdminSslListen('[::1]:8444', admin)).toEqual({ host: '::1', port: 8444 });
    expect(parseAdminSslListen('OFF', admin)).toBeNull();
    for (const bad of ['8444', 'localhost', 'a:b', '1.2.3.4:99999', 'https://x:1'])
      expect(() => parseAdminSslListen(bad, admin), bad).toThrow(
        /--admin-ssl-listen \(GATEHOUSE_ADMIN_SSL_LISTEN\)/,
      );
  });
});

import { describe, expect, it } from 'vitest';
import { parseHmacAuthorization, sign, signingString } from './signature.js';

describe('hmac-auth signature', () => {
  it('parses the hmac Authorization fields (headers default to date)', () => {
    expect(parseHmacAuthorization('hmac username="u", algorithm="HMAC-SHA256", signature="c2ln"')).toEqual({
      username: 'u',
      algorithm: 'hmac-sha256',
      headers: ['date'],
      signature: 'c2ln',
    });
    expect(parseHmacAuthorization('Basic x')).toBeNull();
    expect(parseHmacAuthorization('hmac username="u"')).toBeNull();
  });

  it('builds the signing string with request-line, @request-target and missing headers', () => {
    const req = { method: 'POST', target: '/p?q=1', header: (n: string) => (n === 'date' ? 'D' : undefined) };
    expect(signingString(req, ['date', 'request-line', '@request-target', 'x-missing'])).toBe(
      'date: D\nPOST /p?q=1 HTTP/1.1\npost /p?q=1\nx-missing:',
    );
  });

  it('signs with the named algorithm only', () => {
    expect(sign('hmac-sha256', 'k', 'd')?.length).toBe(32);
    expect(sign('hmac-md5', 'k', 'd')).toBeNull();
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseHmacAuthorization, sign, signingString } from './signature.js';

/** Kong's pattern (kong/plugins/hmac-auth/access.lua), run by a backtracking engine: the reference. */
const KONG_PATTERN = /\s*[Hh]mac\s*username="(.+)",\s*algorithm="(.+)",\s*headers="(.+)",\s*signature="(.+)"/;

function kongParse(value: string) {
  const m = KONG_PATTERN.exec(value);
  return m === null
    ? null
    : { username: m[1]!, algorithm: m[2]!, headers: m[3]!.split(' '), signature: m[4]! };
}

describe('hmac-auth Authorization parsing (Kong access.lua retrieve_hmac_fields)', () => {
  it('reads the four fields in order, names and algorithm as sent', () => {
    expect(
      parseHmacAuthorization(
        'hmac username="u", algorithm="hmac-sha256", headers="Date X-A", signature="c2ln"',
      ),
    ).toEqual({ username: 'u', algorithm: 'hmac-sha256', headers: ['Date', 'X-A'], signature: 'c2ln' });
  });

  // spec/03-plugins/19-hmac-auth/03-access_spec.lua: the body-validation cases send a stray
  // leading quote; "no space or space between hmac signatures fields".
  it("accepts Kong's leniencies: text before the scheme, Hmac, no space after it, spacing between fields", () => {
    const fields = 'username="bob",algorithm="hmac-sha1",  headers="date",signature="c2ln"';
    for (const value of [`"hmac ${fields}`, `Hmac ${fields}`, `hmac${fields}`, `junk hmac   ${fields}`]) {
      expect(parseHmacAuthorization(value), value).toEqual({
        username: 'bob',
        algorithm: 'hmac-sha1',
        headers: ['date'],
        signature: 'c2ln',
      });
    }
  });

  // spec/03-plugins/19-hmac-auth/03-access_spec.lua: "wrong hmac headers field name", "wrong hmac
  // signature field name", "malformed hmac signature field", "passing only the username".
  it('refuses what Kong refuses: a missing or misnamed field, a missing comma, HMAC, fields out of order', () => {
    for (const value of [
      'hmac username="bob",  algorithm="hmac-sha1",   wrong_header="date", signature="x"',
      'hmac username="bob",  algorithm="hmac-sha1",   headers="date", wrong_signature="x"',
      'hmac username="bob",  algorithm="hmac-sha1" headers="date", signature="x"',
      'hmac username="bob", algorithm="hmac-sha1", signature="x"',
      'HMAC username="bob", algorithm="hmac-sha1", headers="date", signature="x"',
      'hmac algorithm="hmac-sha1", username="bob", headers="date", signature="x"',
      'hmac username="", algorithm="hmac-sha1", headers="date", signature="x"',
      'hmac username',
      'hmac username=,algorithm,headers,dXNlcm5hbWU6cGFzc3dvcmQ=',
      'Basic x',
    ]) {
      expect(parseHmacAuthorization(value), value).toBeNull();
    }
    expect(parseHmacAuthorization(undefined)).toBeNull();
  });

  it('keeps empty names from repeated spaces in headers (Kong splits on single spaces)', () => {
    expect(
      parseHmacAuthorization('hmac username="u", algorithm="a", headers="  date", signature="s"')?.headers,
    ).toEqual(['', '', 'date']);
  });

  it("property: the same fields as Kong's greedy pattern, for any value built from its pieces", () => {
    const piece = fc.constantFrom(
      'hmac',
      'Hmac',
      'HMAC',
      ' ',
      '\t',
      '"',
      ',',
      ', ',
      'username="',
      'algorithm="',
      'headers="',
      'signature="',
      '",',
      '", ',
      'u',
      'date',
      'x',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 24 }), (pieces) => {
        const value = pieces.join('');
        expect(parseHmacAuthorization(value)).toEqual(kongParse(value));
      }),
      { numRuns: 3000 },
    );
  });

  it('property: hostile values never throw and take linear time (no backtracking)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (value) => {
        const parsed = parseHmacAuthorization(value);
        if (parsed !== null) expect(parsed).toEqual(kongParse(value));
      }),
    );
    // A value that makes the backtracking pattern work hard: answered at once here.
    const hostile = `hmac username="${'",algorithm="'.repeat(2000)}${'",headers="'.repeat(2000)}`;
    expect(parseHmacAuthorization(hostile)).toBeNull();
  });
});

describe('hmac-auth signing string (Kong access.lua create_hash)', () => {
  it('builds request-line with the request version, @request-target, missing headers, names as listed', () => {
    const req = {
      method: 'POST',
      target: '/p?q=1',
      httpVersion: '1.0',
      header: (n: string) => (n.toLowerCase() === 'date' ? 'D' : undefined),
    };
    expect(signingString(req, ['Date', 'request-line', '@request-target', 'x-missing'])).toBe(
      'Date: D\nPOST /p?q=1 HTTP/1.0\n@request-target: post /p?q=1\nx-missing:',
    );
    expect(signingString({ ...req, httpVersion: '2.0' }, ['request-line'])).toBe('POST /p?q=1 HTTP/2.0');
  });

  it('signs with the named algorithm only', () => {
    expect(sign('hmac-sha256', 'k', 'd')?.length).toBe(32);
    expect(sign('hmac-md5', 'k', 'd')).toBeNull();
    expect(sign('HMAC-SHA256', 'k', 'd')).toBeNull();
  });
});

/**
 * Reads `<header_type> base64(username:password)` from an Authorization or Proxy-Authorization
 * value as Kong's ldap-auth does: the scheme is matched case-insensitively after optional leading
 * whitespace and must be followed by whitespace; the decoded text splits at the first colon; the
 * password must not be empty (an empty password would be an LDAP "unauthenticated bind", which
 * servers accept as anonymous — RFC 4513 §5.1.2), and neither part may contain a line break
 * (Kong's `^(.*?):(.+)$`). Anything else is no credential (401).
 */

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const WS = /\s/;

export interface LdapCredentials {
  readonly username: string;
  readonly password: string;
}

export function parseLdapCredentials(value: string, headerType: string): LdapCredentials | null {
  let i = 0;
  while (i < value.length && WS.test(value[i]!)) i++;
  const scheme = value.slice(i, i + headerType.length);
  if (scheme.toLowerCase() !== headerType.toLowerCase()) return null;
  i += headerType.length;
  if (i >= value.length || !WS.test(value[i]!)) return null;
  const encoded = value.slice(i).trim();
  if (encoded.length === 0 || encoded.length % 4 === 1 || !BASE64.test(encoded)) return null;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  const username = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  if (password.length === 0 || /[\r\n]/.test(decoded)) return null;
  return { username, password };
}

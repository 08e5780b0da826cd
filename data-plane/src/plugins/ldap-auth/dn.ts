/**
 * The bind DN, built as Kong does (`<attribute>=<username>,<base_dn>`), except that the username
 * is escaped as an RFC 4514 attribute value: a client cannot add RDNs, change the base or the
 * attribute, or bind as another entry (`einstein,ou=admins` is the value `einstein\2Cou\3Dadmins`).
 * The plugin only binds (it never builds a search filter), so RFC 4515 filter escaping has no use.
 */

/** Characters RFC 4514 requires (or allows) escaping anywhere in a value; escaped as `\XX`. */
// eslint-disable-next-line no-control-regex
const SPECIAL = /[\u0000-\u001f\u007f"#+,;<=>\\]/;

const hex = (c: string): string =>
  [...Buffer.from(c, 'utf8')].map((b) => `\\${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');

/** `value` as an RFC 4514 attribute value (hex escapes; leading/trailing spaces escaped too). */
export function escapeDnValue(value: string): string {
  let out = '';
  const chars = [...value];
  chars.forEach((c, i) => {
    const edgeSpace = c === ' ' && (i === 0 || i === chars.length - 1);
    out += SPECIAL.test(c) || edgeSpace ? hex(c) : c;
  });
  return out;
}

/** Kong's bind DN: `attribute=escaped(username),base_dn`. */
export function bindDn(attribute: string, username: string, baseDn: string): string {
  return `${attribute}=${escapeDnValue(username)},${baseDn}`;
}

/**
 * Host helpers shared by route compilation and request matching (Kong's `split_port` and
 * wildcard host rules, kong/router/traditional.lua).
 */

/** `example.com:8000` -> `example.com`; `[::1]:80` -> `::1`; a host without a port is returned as is. */
export function hostWithoutPort(host: string): string {
  if (host.charCodeAt(0) === 91 /* [ */) {
    const end = host.indexOf(']');
    return end < 0 ? host : host.slice(1, end);
  }
  const colon = host.indexOf(':');
  if (colon < 0) return host;
  // More than one colon and no brackets: a bare IPv6 literal, no port to split.
  if (host.indexOf(':', colon + 1) >= 0) return host;
  return host.slice(0, colon);
}

/** True when the host carries an explicit `:port` made of digits only. */
export function hasPort(host: string): boolean {
  let start: number;
  if (host.charCodeAt(0) === 91) {
    const end = host.indexOf(']:');
    if (end < 0) return false;
    start = end + 2;
  } else {
    const colon = host.indexOf(':');
    if (colon < 0 || host.indexOf(':', colon + 1) >= 0) return false;
    start = colon + 1;
  }
  if (start >= host.length) return false;
  for (let i = start; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** The request host with an explicit port, adding the scheme's default one when absent. */
export function hostWithPort(host: string, defaultPort: number): string {
  return hasPort(host) ? host : `${host}:${defaultPort}`;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Compiles a wildcard host (`*.example.com`, `example.*`, optionally `:port`) into an anchored
 * regex tested against the request's host-with-port, as Kong: `*` matches one or more characters;
 * a wildcard without a port matches any port.
 */
export function compileWildcardHost(host: string): RegExp {
  const body = host.split('*').map(escapeRegex).join('.+');
  return new RegExp(hasPort(host) ? `^${body}$` : `^${body}(?::\\d+)?$`);
}

/** Lower-cases only when needed (no allocation for an already lower-case host). */
export function lowerHost(host: string): string {
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c >= 65 && c <= 90) return host.toLowerCase();
  }
  return host;
}

/**
 * The path sent upstream, from the request path, the matched prefix, the route's `strip_path` and
 * `path_handling`, and the service's `path` — Kong's rules (kong/router/traditional.lua and
 * `get_upstream_uri_v0` in kong/router/utils.lua; table in spec/fixtures/router_path_handling_tests.lua).
 */

const SLASH = 47;

/**
 * Kong's `sanitize_uri_postfix`: a leading `.`/`..` segment left over after stripping is dropped.
 * Unlike Kong, also when that segment carries `;` (or `%3B`) parameters (`..;x/y` → `y`): stripping a prefix
 * in the middle of a segment (`/strip..;/y` by the prefix `/strip`) would otherwise forward
 * `<service path>/..;/y`, which Tomcat-style upstreams (that drop `;…`) resolve above the
 * service path.
 */
export function sanitizePostfix(postfix: string): string {
  if (postfix === '' || postfix.charCodeAt(0) !== 46 /* . */) return postfix;
  let end = postfix.indexOf('/');
  if (end < 0) end = postfix.length;
  // Parameters start at `;` or its escape (upper case: the path is normalised).
  let semi = postfix.indexOf(';');
  const escaped = postfix.indexOf('%3B');
  if (escaped >= 0 && (semi < 0 || escaped < semi)) semi = escaped;
  const name = postfix.slice(0, semi >= 0 && semi < end ? semi : end);
  if (name !== '.' && name !== '..') return postfix;
  return end === postfix.length ? '' : postfix.slice(end + 1);
}

export interface UpstreamPathInput {
  /** Normalised request path, without the query string. */
  path: string;
  /** Length of the matched path prefix, or -1 when the route matched without a path. */
  prefixLength: number;
  stripPath: boolean;
  pathHandling: 'v0' | 'v1';
  /** The service path, `/` when it has none. */
  servicePath: string;
}

function v0(base: string, strip: boolean, postfix: string, reqPath: string): string {
  if (base.charCodeAt(base.length - 1) === SLASH) {
    if (strip) {
      if (postfix === '') {
        if (base === '/') return '/';
        if (reqPath.charCodeAt(reqPath.length - 1) === SLASH) return base;
        return base.slice(0, -1);
      }
      if (postfix.charCodeAt(0) === SLASH) return base.slice(0, -1) + postfix;
      return base + postfix;
    }
    return base + reqPath.slice(1);
  }
  if (strip) {
    if (postfix === '') {
      if (reqPath.length > 1 && reqPath.charCodeAt(reqPath.length - 1) === SLASH) return base + '/';
      return base;
    }
    if (postfix.charCodeAt(0) === SLASH) return base + postfix;
    return base + '/' + postfix;
  }
  if (reqPath === '/') return base;
  return base + reqPath;
}

function v1(base: string, strip: boolean, postfix: string, reqPath: string): string {
  if (strip) {
    if (base.charCodeAt(base.length - 1) === SLASH && postfix.charCodeAt(0) === SLASH) {
      return base.slice(0, -1) + postfix;
    }
    return base + postfix;
  }
  return base + reqPath.slice(1);
}

export function upstreamPath(input: UpstreamPathInput): string {
  const { path, prefixLength, stripPath, servicePath } = input;
  // The hot case: nothing to strip, no service path.
  if (!stripPath && servicePath === '/') return path;
  const postfix = prefixLength >= 0 ? sanitizePostfix(path.slice(prefixLength)) : path.slice(1);
  return input.pathHandling === 'v1'
    ? v1(servicePath, stripPath, postfix, path)
    : v0(servicePath, stripPath, postfix, path);
}

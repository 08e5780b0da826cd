/**
 * The path sent upstream, from the request path, the matched prefix, the route's `strip_path` and
 * `path_handling`, and the service's `path` — Kong's rules (kong/router/traditional.lua and
 * `get_upstream_uri_v0` in kong/router/utils.lua; table in spec/fixtures/router_path_handling_tests.lua).
 */

const SLASH = 47;

/** Kong's `sanitize_uri_postfix`: a leading `.`/`..` segment left over after stripping is dropped. */
export function sanitizePostfix(postfix: string): string {
  if (postfix === '' || postfix.charCodeAt(0) !== 46 /* . */) return postfix;
  if (postfix === '.' || postfix === '..') return '';
  if (postfix.startsWith('./')) return postfix.slice(2);
  if (postfix.startsWith('../')) return postfix.slice(3);
  return postfix;
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

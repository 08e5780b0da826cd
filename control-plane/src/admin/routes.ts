/**
 * Every route an Admin API app serves, read from its express router (the routers mounted at the
 * root, as createAdminApp mounts them): what the RBAC matrix test walks and what
 * `docs/admin-api.md` can be checked against.
 */
import type express from 'express';

export interface AdminRoute {
  /** The express path (`/services/:key`, `/rbac/roles/:role/endpoints/:workspace/*endpoint`). */
  path: string;
  /** Upper-case methods the route answers (besides OPTIONS and the 405 of `.all`). */
  methods: string[];
}

interface Layer {
  route?: { path: unknown; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

function walk(stack: readonly Layer[], out: Map<string, Set<string>>): void {
  for (const layer of stack) {
    if (layer.route) {
      const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
      for (const p of paths) {
        if (typeof p !== 'string') continue;
        const methods = out.get(p) ?? new Set<string>();
        for (const [m, on] of Object.entries(layer.route.methods))
          if (on && m !== '_all') methods.add(m.toUpperCase());
        out.set(p, methods);
      }
    } else if (layer.handle?.stack) {
      walk(layer.handle.stack, out);
    }
  }
}

/** The app's routes, in mount order. */
export function adminRoutes(app: express.Express): AdminRoute[] {
  const router = (app as unknown as { router?: { stack?: Layer[] } }).router;
  const out = new Map<string, Set<string>>();
  walk(router?.stack ?? [], out);
  return [...out].map(([path, methods]) => ({ path, methods: [...methods].sort() }));
}

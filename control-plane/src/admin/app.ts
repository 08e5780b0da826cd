import { hostname } from 'node:os';
import express, { type Router } from 'express';
import { GATEHOUSE_VERSION, type Logger } from '@gatehouse/shared';
import type { ConfigStore } from '../store/index.js';
import { auditRequests, auditScope } from '../audit/middleware.js';
import { DEFAULT_AUDIT_RETENTION_MS } from '../audit/retention.js';
import { createAuditRouter } from '../audit/router.js';
import { adminAccess, type AdminAccessPolicy } from './access.js';
import { bodyParsers } from './body.js';
import type { Fleet } from '../cluster/fleet.js';
import { entityEndpoints } from './entity-endpoints.js';
import { errorHandler, methodNotAllowed, notFoundHandler } from './errors.js';
import { checkRequestTarget } from './input-guard.js';
import { membershipEndpoints } from './membership-endpoints.js';
import type { ControlPlaneMetrics } from './metrics.js';
import { schemaEndpoints } from './schema-endpoints.js';
import { tagEndpoints } from './tag-endpoints.js';
import { rbacEndpoints } from '../rbac/rbac-endpoints.js';
import type { RbacStore } from '../rbac/rbac-store.js';
import { userinfoEndpoint } from '../rbac/userinfo.js';

export interface AdminAppOptions {
  store: ConfigStore;
  logger: Logger;
  /** Extra routers mounted at the root before the body parsers (`/clustering/*`, `/config`). */
  routers?: Router[];
  /** Largest accepted request body (default 1 MiB); larger ones get 413. */
  bodyLimit?: string | number;
  /**
   * Extra fields for `GET /`'s `configuration` (Kong's: `database`, `role`, the listeners; see
   * node-info.ts). Read at each request, so the CP may fill in what it knows once it listens.
   */
  info?: Record<string, unknown>;
  /** The fleet check run after a plugin write (its incompatible DPs are listed in the response). */
  fleet?: Fleet;
  /** Who may call (token, allowed origins and hosts); default: loopback, no token. See access.ts. */
  access?: AdminAccessPolicy;
  /** Times every request and serves `GET /metrics` (behind the access rules). See metrics.ts. */
  metrics?: ControlPlaneMetrics;
  /**
   * RBAC users and roles: serves `/rbac/*` (rbac/rbac-endpoints.ts). Enforcing them is the access
   * policy's `rbac` (access.ts).
   */
  rbac?: RbacStore;
  /** How long audit entries are kept (their `ttl` in `/audit/*`; default 30 days; 0: forever). */
  auditRetentionMs?: number;
}

/**
 * The Admin API (Kong-compatible for services and routes). Every error goes through one handler
 * that answers Kong's `{ message, name, code, fields }` shapes; nothing a client sends yields a 500.
 */
export function createAdminApp(options: AdminAppOptions): express.Express {
  const { store, logger } = options;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('json replacer', (_key: string, value: unknown) =>
    typeof value === 'bigint' ? value.toString() : value,
  );
  if (options.metrics) app.use(options.metrics.timing());
  // The request id and the audit log's entry for a write, refused ones included (audit/middleware.ts).
  app.use(auditRequests({ prisma: store.prisma, redactor: store.auditRedactor, logger }));
  // Host, Origin and token are checked before anything else runs (POST /config included).
  app.use(adminAccess(options.access));
  if (options.metrics) app.use(options.metrics.router());
  // Then the input policy on the path and the query string (docs/security.md, "Admin API input").
  app.use(checkRequestTarget);
  // Extra routers come next: they read their own bodies (POST /config takes documents far larger
  // than the entity endpoints' limit).
  for (const router of options.routers ?? []) app.use(router);
  app.use(bodyParsers(options.bodyLimit ?? '1mb'));
  // A body parser's callbacks leave the request's async context: the audit source is re-entered.
  app.use(auditScope);

  app
    .route('/')
    .get(async (_req, res) => {
      res.json({
        tagline: 'Welcome to Gatehouse',
        version: GATEHOUSE_VERSION,
        // Kong OSS's edition: Kong Manager then uses the community API (no `/kong`, exact-match search).
        edition: 'community',
        hostname: hostname(),
        plugins: {
          available_on_server: Object.fromEntries(
            (store.pluginSchemas?.list() ?? []).map((p) => [
              p.name,
              { version: p.version, priority: p.priority },
            ]),
          ),
          enabled_in_cluster: await store.enabledPluginNames(),
        },
        configuration: {
          config_version: (await store.currentVersion()).toString(),
          admin_api: 'kong-3.x-compatible',
          ...options.info,
        },
      });
    })
    .all(methodNotAllowed);

  app.use(userinfoEndpoint(options.rbac));
  if (options.rbac) app.use(rbacEndpoints(options.rbac));
  app.use(
    createAuditRouter({
      prisma: store.prisma,
      retentionMs: options.auditRetentionMs ?? DEFAULT_AUDIT_RETENTION_MS,
    }),
  );
  app.use(membershipEndpoints(store));
  app.use(entityEndpoints(store, options.fleet));
  app.use(tagEndpoints(store));
  app.use(schemaEndpoints(store));
  app.use(notFoundHandler);
  app.use(errorHandler(logger));
  return app;
}

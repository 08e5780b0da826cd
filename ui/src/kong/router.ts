/**
 * Kong's entity components navigate with vue-router (`RouterLink`, `router.push`). The shell keeps
 * its own hash routes (`#/{screen}/{id}`), so their router lives in memory and every navigation it
 * is asked for becomes our location hash: a path `/services/abc` is `#/services/abc`.
 */
import { createMemoryHistory, createRouter, type RouteLocationRaw, type Router } from 'vue-router';

export function hashOf(to: { fullPath: string }): string {
  return `#${to.fullPath.startsWith('/') ? to.fullPath : `/${to.fullPath}`}`;
}

export function createHashBridgeRouter(): Router {
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [{ path: '/:rest(.*)*', component: { render: () => null } }],
  });
  router.beforeEach((to, from) => {
    // The first navigation (the router starting) stays in memory; later ones move the shell.
    if (from.matched.length === 0 && to.fullPath === '/') return true;
    const next = hashOf(to);
    if (location.hash !== next) location.hash = next;
    return true;
  });
  return router;
}

export type { RouteLocationRaw };

// Operations screens: what only Gatehouse shows. Each view is its own chunk, loaded when first
// shown; a screen may answer `#/path/<sub>` (the fleet's `#/fleet/<id>`, `#/traffic/<dimension>`,
// `#/audit/<log>`: ops/hash-route.ts).
import { defineAsyncComponent } from 'vue';
import type { Screen } from './screens';

export const opsScreens: readonly Screen[] = [
  {
    path: 'fleet',
    title: 'Fleet',
    group: 'Operations',
    view: defineAsyncComponent(() => import('./views/FleetView.vue')),
  },
  {
    path: 'traffic',
    title: 'Traffic',
    group: 'Operations',
    view: defineAsyncComponent(() => import('./views/TrafficView.vue')),
  },
  {
    path: 'history',
    title: 'History',
    group: 'Operations',
    view: defineAsyncComponent(() => import('./views/HistoryView.vue')),
  },
  {
    path: 'rollouts',
    title: 'Rollouts',
    group: 'Operations',
    view: defineAsyncComponent(() => import('./views/RolloutsView.vue')),
  },
  {
    path: 'audit',
    title: 'Audit log',
    group: 'Operations',
    view: defineAsyncComponent(() => import('./views/AuditView.vue')),
  },
];

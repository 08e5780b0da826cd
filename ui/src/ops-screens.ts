// Operations screens: what only Gatehouse shows.
import FleetView from './views/FleetView.vue';
import type { Screen } from './screens';

export const opsScreens: readonly Screen[] = [
  { path: 'fleet', title: 'Fleet', group: 'Operations', view: FleetView },
];

// Configuration screens, in Kong Manager's navigation order.
import ConsumersView from './views/ConsumersView.vue';
import PluginsView from './views/PluginsView.vue';
import RoutesView from './views/RoutesView.vue';
import ServicesView from './views/ServicesView.vue';
import type { Screen } from './screens';

export const entityScreens: readonly Screen[] = [
  { path: 'services', title: 'Gateway services', group: 'Configuration', view: ServicesView },
  { path: 'routes', title: 'Routes', group: 'Configuration', view: RoutesView },
  { path: 'consumers', title: 'Consumers', group: 'Configuration', view: ConsumersView },
  { path: 'plugins', title: 'Plugins', group: 'Configuration', view: PluginsView },
];

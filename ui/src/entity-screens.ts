// Configuration screens: one per entity kind (entity-kinds.ts), rendered by EntityView.vue (list,
// search, tag filter, paging, forms generated from `/schemas/{kind}`, nested lists); plugins keep
// their own screen (scopes and the plugin's own schema).
import { defineComponent, h } from 'vue';
import { ENTITY_KINDS, type EntityKindScreen } from './entity-kinds';
import EntityView from './views/EntityView.vue';
import PluginsView from './views/PluginsView.vue';
import type { Screen } from './screens';

const screen = (kind: EntityKindScreen): Screen => ({
  path: kind.path,
  title: kind.title,
  group: 'Configuration',
  reads: `/${kind.collection}`,
  view: defineComponent({ name: `${kind.path}-screen`, render: () => h(EntityView, { kind }) }),
});

const pluginsScreen: Screen = {
  path: 'plugins',
  title: 'Plugins',
  group: 'Configuration',
  reads: '/plugins',
  view: PluginsView,
};

/** Kong Manager's order: services, routes, consumers (and groups), plugins, upstreams, certificates … */
const pluginsAfter = ENTITY_KINDS.findIndex((k) => k.path === 'consumer-groups') + 1;
export const entityScreens: readonly Screen[] = [
  ...ENTITY_KINDS.slice(0, pluginsAfter).map(screen),
  pluginsScreen,
  ...ENTITY_KINDS.slice(pluginsAfter).map(screen),
];

export { compilePlugins, type Chain, type CompiledPlugins, type Slot, type Instance } from './compile.js';
export { PluginRunner } from './runner.js';
export { PluginRequest } from './context.js';
export { SnapshotIndex } from './snapshot-view.js';

export { compilePlugins, type Chain, type CompiledPlugins, type Slot, type Instance } from './compile.js';
export { PluginRunner, type UpstreamRequest, type OtherDispatch } from './runner.js';
export { PluginRequest, type RequestInit } from './context.js';
export { SnapshotIndex } from './snapshot-view.js';

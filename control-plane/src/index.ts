export * from './db/index.js';
export * from './store/index.js';
export * from './admin/index.js';
export * from './snapshot/index.js';
export {
  createClusteringRouter,
  DataPlaneRegistry,
  startClusterServer,
  type ClusterServer,
  type ClusterServerOptions,
} from './cluster/index.js';
export { startControlPlane, type ControlPlane, type ControlPlaneOptions } from './control-plane.js';
export * from './declarative/index.js';
export { runConfigCommand, type ConfigCommandIo } from './config-cli.js';

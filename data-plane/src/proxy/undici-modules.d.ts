// Types of the two undici modules undici-parts.ts imports by path (undici ships types for its
// index only): the same Pool and buildConnector its index exports.
declare module 'undici/lib/dispatcher/pool.js' {
  import { Pool } from 'undici';
  export default Pool;
}
declare module 'undici/lib/core/connect.js' {
  import { buildConnector } from 'undici';
  export default buildConnector;
}

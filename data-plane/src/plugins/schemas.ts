/** Only the config schemas of the bundled auth plugins (no handlers), for code that needs the shapes. */
export { keyAuthSchema, type KeyAuthConfig } from './key-auth/schema.js';
export { basicAuthSchema, type BasicAuthConfig } from './basic-auth/schema.js';
export { hmacAuthSchema, type HmacAuthConfig } from './hmac-auth/schema.js';
export { jwtSchema, type JwtConfig } from './jwt/schema.js';
export { openidConnectSchema, type OpenidConnectConfig } from './openid-connect/schema.js';
export { introspectionSchema, type IntrospectionConfig } from './oauth2-introspection/schema.js';

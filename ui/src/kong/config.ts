/**
 * The configuration Kong's entity UI packages (`@kong-ui-public/entities-*`) take: Kong Manager
 * mode against our Admin API, in Kong's "community" edition, with no workspace prefix, sending the
 * signed-in admin token on every request (their axios instance).
 */
import type { KongManagerConfig } from '@kong-ui-public/entities-shared';
import { session } from '../session';

export function kongConfig(): KongManagerConfig {
  return {
    app: 'kongManager',
    workspace: '',
    apiBaseUrl: session.client.baseUrl.replace(/\/$/, ''),
    gatewayInfo: { edition: 'community', version: session.version || '3.9.0' },
    axiosRequestConfig: session.client.token ? { headers: { 'Kong-Admin-Token': session.client.token } } : {},
  };
}

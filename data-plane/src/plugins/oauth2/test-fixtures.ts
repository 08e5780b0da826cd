/** What the oauth2 plugin's tests share: a service, a consumer and its client application. */
import { SERVICE_DEFAULTS, type Consumer, type OAuth2Credential, type Service } from '@gatehouse/shared';

export const SERVICE: Service = {
  ...SERVICE_DEFAULTS,
  id: 'svc',
  name: 'svc',
  host: 'up',
  created_at: 0,
  updated_at: 0,
};

export const consumer = (id: string, username: string): Consumer => ({
  id,
  username,
  custom_id: null,
  tags: null,
  created_at: 0,
  updated_at: 0,
});

/** The client `clientid` / `secret123` of consumer `c`, redirecting to https://app.example/cb. */
export const credential = (o: Partial<OAuth2Credential> = {}): OAuth2Credential => ({
  id: 'cred',
  consumer: { id: 'c' },
  name: 'app',
  client_id: 'clientid',
  client_secret: 'secret123',
  hash_secret: false,
  redirect_uris: ['https://app.example/cb'],
  client_type: 'confidential',
  tags: null,
  created_at: 0,
  ...o,
});

/** An instance config with every grant on and the scopes `email` and `profile`. */
export const CONFIG = {
  provision_key: 'provision123',
  enable_authorization_code: true,
  enable_client_credentials: true,
  enable_password_grant: true,
  enable_implicit_grant: true,
  scopes: ['email', 'profile'],
  token_signing_secrets: ['s'.repeat(40)],
};

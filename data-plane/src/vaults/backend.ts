/**
 * A vault backend: where the data plane reads the value of a `{vault://…}` reference. A backend
 * is one module with a name (the `name` of a vault entity, or the reference's prefix when it
 * names the backend directly) and a `get`; its `config` schema is the record of the same name
 * in `VAULT_BACKENDS` (@gatehouse/shared), so the CP validates vault entities without the
 * backend's code. `get` may be asynchronous (a network secret manager): the resolver calls it
 * off the request path (ProxyServer.prime / the refresh timer), never per request.
 */
export interface VaultBackend {
  readonly name: string;
  /**
   * The secret `resource` (already prefixed by nothing: the backend applies `config.prefix`),
   * or null when the backend has no such secret. Throws when the backend cannot answer
   * (unreachable, denied); the message must not hold the secret.
   */
  get(
    config: Readonly<Record<string, unknown>>,
    resource: string,
    version: number | null,
  ): Promise<string | null>;
}

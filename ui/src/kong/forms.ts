/**
 * Which screens create and edit with Kong's own entity forms (`@kong-ui-public/entities-*`), each
 * loaded on first use (its own chunk), with the prop that puts it in edit mode and how it names
 * its controls for the field-error layer (field-errors.ts). Keys are Admin API collections.
 */
import type { Component } from 'vue';
import type { FormControls } from './field-errors';

export interface KongForm {
  /** Kong's component (and its stylesheet), loaded on demand. */
  load: () => Promise<Component>;
  /** The prop holding the edited entity's id (null: a create). */
  idProp: string;
  /** Props besides `config` and the id. */
  props?: Record<string, unknown>;
  /** Under a parent entity (a service's routes, a certificate's SNIs): the prop or config key for its id. */
  parent?: { props: string[] } | { config: string };
  /** Keys added to Kong's `config` (they win over ours, `cancelRoute` included). */
  config?: Record<string, unknown>;
  controls: FormControls;
}

const testid = (id: string) => [`[data-testid="${id}"]`];

/** Kong's plugin package (PluginForm, its credential table) and its stylesheet, loaded on demand. */
const loadPlugins = async () => {
  const [m] = await Promise.all([
    import('@kong-ui-public/entities-plugins'),
    import('@kong-ui-public/entities-plugins/dist/style.css'),
  ]);
  return m;
};

/**
 * The plugin whose credentials Kong's PluginForm edits at `/consumers/{c}/{path}` (`key-auth`,
 * `acl` for `acls`), from Kong's own table; undefined for a kind it has no form for (mtls-auth).
 */
export async function credentialPlugin(path: string): Promise<string | undefined> {
  const { credentialSchemas } = (await loadPlugins()).usePluginMetaData();
  const kinds = Object.values(credentialSchemas as Record<string, { endpoint?: string; plugin?: string }>);
  return kinds.find((c) => c.endpoint === `/${path}`)?.plugin;
}

export const KONG_FORMS = {
  services: {
    load: async () => {
      const [m] = await Promise.all([
        import('@kong-ui-public/entities-gateway-services'),
        import('@kong-ui-public/entities-gateway-services/dist/style.css'),
      ]);
      return m.GatewayServiceForm as Component;
    },
    idProp: 'gatewayServiceId',
    // No `tls_sans`: Kong 3.10's field, which the Admin API (Kong 3.9's schema) refuses as unknown.
    props: { hideTrySampleApiButton: true, hideSectionsInfo: true, isTlsSansSupported: false },
    controls: {
      testidPrefix: 'gateway-service-',
      aliases: {
        // A create sends Kong Manager's full URL: protocol, host, port and path are its parts.
        protocol: [...testid('gateway-service-protocol-select'), ...testid('gateway-service-url-input')],
        host: [...testid('gateway-service-host-input'), ...testid('gateway-service-url-input')],
        port: [...testid('gateway-service-port-input'), ...testid('gateway-service-url-input')],
        path: [...testid('gateway-service-path-input'), ...testid('gateway-service-url-input')],
        connect_timeout: testid('gateway-service-connTimeout-input'),
        read_timeout: testid('gateway-service-readTimeout-input'),
        write_timeout: testid('gateway-service-writeTimeout-input'),
        client_certificate: testid('gateway-service-clientCert-input'),
        ca_certificates: testid('gateway-service-ca-certs-input'),
        tls_verify: testid('gateway-service-tls-verify-checkbox'),
        'tls_sans.dnsnames': testid('gateway-service-tls-sans-dnsnames'),
        'tls_sans.uris': testid('gateway-service-tls-sans-uris'),
      },
    },
  },
  routes: {
    load: async () => {
      const [m] = await Promise.all([
        import('@kong-ui-public/entities-routes'),
        import('@kong-ui-public/entities-routes/dist/style.css'),
      ]);
      return m.RouteForm as Component;
    },
    idProp: 'routeId',
    props: { hideSectionsInfo: true },
    parent: { props: ['serviceId'] },
    controls: {
      testidPrefix: 'route-form-',
      aliases: {
        service: testid('route-form-service-id'),
        https_redirect_status_code: testid('route-form-http-redirect-status-code'),
        headers: testid('route-form-headers-name-input-1'),
      },
    },
  },
  consumers: {
    load: async () => {
      const [m] = await Promise.all([
        import('@kong-ui-public/entities-consumers'),
        import('@kong-ui-public/entities-consumers/dist/style.css'),
      ]);
      return m.ConsumerForm as Component;
    },
    idProp: 'consumerId',
    controls: {
      testidPrefix: 'consumer-form-',
      aliases: { custom_id: testid('consumer-form-custom-id') },
    },
  },
  consumer_groups: {
    load: async () => {
      const [m] = await Promise.all([
        import('@kong-ui-public/entities-consumer-groups'),
        import('@kong-ui-public/entities-consumer-groups/dist/style.css'),
      ]);
      return m.ConsumerGroupForm as Component;
    },
    idProp: 'consumerGroupId',
    controls: { testidPrefix: 'consumer-group-form-' },
  },
  upstreams: {
    load: async () => {
      const [m] = await Promise.all([
        import('@kong-ui-public/entities-upstreams-targets'),
        import('@kong-ui-public/entities-upstreams-targets/dist/style.css'),
      ]);
      return m.UpstreamsForm as Component;
    },
    idProp: 'upstreamId',
    controls: { testidPrefix: 'upstreams-form-' },
  },
  certificates: {
    load: async () => {
      const [m] = await Promise.all([
        import('@kong-ui-public/entities-certificates'),
        import('@kong-ui-public/entities-certificates/dist/style.css'),
      ]);
      return m.CertificateForm as Component;
    },
    idProp: 'certificateId',
    controls: {
      testidPrefix: 'certificate-form-',
      aliases: {
        cert_alt: testid('certificate-form-cert-alt'),
        key_alt: testid('certificate-form-key-alt'),
      },
    },
  },
  ca_certificates: {
    load: async () => {
      const [m] = await Promise.all([
        import('@kong-ui-public/entities-certificates'),
        import('@kong-ui-public/entities-certificates/dist/style.css'),
      ]);
      return m.CACertificateForm as Component;
    },
    idProp: 'certificateId',
    controls: {
      testidPrefix: 'ca-certificate-form-',
      aliases: { cert_digest: testid('ca-certificate-form-cert-digest') },
    },
  },
  snis: {
    load: async () => {
      const [m] = await Promise.all([
        import('@kong-ui-public/entities-snis'),
        import('@kong-ui-public/entities-snis/dist/style.css'),
      ]);
      return m.SniForm as Component;
    },
    idProp: 'sniId',
    parent: { config: 'certificateId' },
    controls: {
      testidPrefix: 'sni-form-',
      aliases: { certificate: testid('sni-form-certificate-id') },
    },
  },
  'key-sets': {
    load: async () => {
      const [m] = await Promise.all([
        import('@kong-ui-public/entities-key-sets'),
        import('@kong-ui-public/entities-key-sets/dist/style.css'),
      ]);
      return m.KeySetForm as Component;
    },
    idProp: 'keySetId',
    controls: { testidPrefix: 'key-set-form-' },
  },
  keys: {
    load: async () => {
      const [m] = await Promise.all([
        import('@kong-ui-public/entities-keys'),
        import('@kong-ui-public/entities-keys/dist/style.css'),
      ]);
      return m.KeyForm as Component;
    },
    idProp: 'keyId',
    // Under a key set: its scoped endpoint, the set fixed.
    parent: { props: ['keySetId', 'fixedKeySetId'] },
    controls: {
      testidPrefix: 'key-form-',
      aliases: {
        kid: testid('key-form-id'),
        set: testid('key-form-key-set'),
        'pem.private_key': testid('key-form-private-key'),
        'pem.public_key': testid('key-form-public-key'),
      },
    },
  },
  // A consumer's credentials: Kong's PluginForm in credential mode (Kong Manager's credential
  // screens), the plugin type (`key-auth`) a prop, the consumer's id as `entityId`: it fetches
  // `/schemas/{kind}` and sends `POST /consumers/{c}/{path}`, `PATCH /consumers/{c}/{path}/{id}`.
  credentials: {
    load: async () => (await loadPlugins()).PluginForm as Component,
    idProp: 'pluginId',
    props: { credential: true, noCardWrapper: true, hideViewConfigAction: true },
    parent: { config: 'entityId' },
    // No cancelRoute: its Cancel emits `cancel` rather than navigating.
    config: { entityType: 'consumers', cancelRoute: '' },
    controls: {},
  },
} satisfies Record<string, KongForm>;

export type KongFormKind = keyof typeof KONG_FORMS;

// Component test: renders the generated form to HTML (Vue's server renderer, no browser needed)
// and checks the controls, labels and the server's messages beside the fields they name.
import { createSSRApp, h, reactive } from 'vue';
import { renderToString } from 'vue/server-renderer';
import { describe, expect, it } from 'vitest';
import SchemaForm from './SchemaForm';
import { entityFields, initialValues, type Schema } from './schema-form';

const schema: Schema = {
  fields: [
    {
      config: {
        type: 'record',
        fields: [
          { key_names: { type: 'array', elements: { type: 'string' }, required: true, default: ['apikey'] } },
          { hide_credentials: { type: 'boolean', default: true } },
          { policy: { type: 'string', one_of: ['local', 'redis'], default: 'redis' } },
        ],
      },
    },
  ],
};

async function render(errors: Record<string, string> = {}): Promise<string> {
  const fields = entityFields(schema);
  const values = reactive(initialValues(fields));
  return renderToString(createSSRApp({ render: () => h(SchemaForm, { fields, values, errors }) }));
}

describe('SchemaForm', () => {
  it('renders a labelled control per field with its starting value', async () => {
    const html = await render();
    expect(html).toContain('<label for="f-config-key_names">key_names');
    expect(html).toMatch(/<textarea[^>]*id="f-config-key_names"[^>]*>apikey<\/textarea>/);
    expect(html).toMatch(/<input[^>]*id="f-config-hide_credentials"[^>]*type="checkbox"[^>]*checked/);
    expect(html).toMatch(/<option value="redis" selected/);
    expect(html).not.toContain('field-error');
  });

  it("shows the server's message beside the field it names, tied to the control for screen readers", async () => {
    const html = await render({ 'config.key_names': 'length must be at least 1' });
    expect(html).toMatch(
      /id="f-config-key_names"[^>]*aria-invalid="true"[^>]*aria-describedby="f-config-key_names-error"/,
    );
    expect(html).toContain(
      '<p class="field-error" id="f-config-key_names-error" data-error-for="config.key_names">length must be at least 1</p>',
    );
    expect(html).not.toMatch(/id="f-config-policy"[^>]*aria-invalid/);
  });
});

describe('SchemaForm ids and choices', () => {
  it('prefixes every id with the form id, so two forms on a page never share one', async () => {
    const fields = entityFields({
      fields: [{ name: { type: 'string' } }, { service: { type: 'foreign', reference: 'services' } }],
    }).map((f) => (f.kind === 'foreign' ? { ...f, options: ['s-1'], optionLabels: { 's-1': 'orders' } } : f));
    const html = await renderToString(
      createSSRApp({
        render: () =>
          h('div', [
            h(SchemaForm, { fields, values: reactive(initialValues(fields)), idPrefix: 'f' }),
            h(SchemaForm, { fields, values: reactive(initialValues(fields)), idPrefix: 'f-targets' }),
          ]),
      }),
    );
    const ids = [...html.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(
      expect.arrayContaining(['f-name', 'f-targets-name', 'f-service', 'f-targets-service']),
    );
    // A foreign key: its entities by id, shown by name.
    expect(html).toContain('<option value="s-1">orders</option>');
  });
});

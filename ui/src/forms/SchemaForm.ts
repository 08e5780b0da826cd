/**
 * Renders generated fields (schema-form.ts) as labelled controls, each with the server's message
 * for its path beside it (`aria-describedby`, `aria-invalid`). The caller owns `values` (reactive)
 * and `errors`; the component writes what the user types into `values`.
 */
import { defineComponent, h, type PropType, type VNode } from 'vue';
import type { FieldSpec, FormValues } from './schema-form';

/** A control's id: the form's prefix (unique per form on a page) and the field's path. */
export const idOf = (path: string, prefix = 'f') => `${prefix}-${path.replace(/[^A-Za-z0-9_-]/g, '-')}`;

export default defineComponent({
  name: 'SchemaForm',
  props: {
    fields: { type: Array as PropType<FieldSpec[]>, required: true },
    values: { type: Object as PropType<FormValues>, required: true },
    errors: { type: Object as PropType<Record<string, string>>, default: () => ({}) },
    /** Prefix of every control id: forms shown together need different ones. */
    idPrefix: { type: String, default: 'f' },
  },
  setup(props) {
    const fieldId = (path: string) => idOf(path, props.idPrefix);
    const errorOf = (s: FieldSpec) => props.errors[s.path];

    const message = (s: FieldSpec): VNode[] => {
      const out: VNode[] = [];
      if (s.description) out.push(h('p', { class: 'hint', id: `${fieldId(s.path)}-hint` }, s.description));
      const err = errorOf(s);
      if (err)
        out.push(
          h('p', { class: 'field-error', id: `${fieldId(s.path)}-error`, 'data-error-for': s.path }, err),
        );
      return out;
    };
    const describedBy = (s: FieldSpec) =>
      [s.description ? `${fieldId(s.path)}-hint` : '', errorOf(s) ? `${fieldId(s.path)}-error` : '']
        .filter(Boolean)
        .join(' ') || undefined;
    const common = (s: FieldSpec) => ({
      id: fieldId(s.path),
      name: s.path,
      'aria-invalid': errorOf(s) ? 'true' : undefined,
      'aria-describedby': describedBy(s),
      'aria-required': s.required ? 'true' : undefined,
    });
    const label = (s: FieldSpec) =>
      h('label', { for: fieldId(s.path) }, [
        s.label,
        s.required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null,
      ]);

    const control = (s: FieldSpec): VNode => {
      // Read at render time: the caller may hand a new values object (a reset form).
      const values = props.values;
      const str = () => String(values[s.path] ?? '');
      const onInput = (e: Event) => (values[s.path] = (e.target as HTMLInputElement).value);
      switch (s.kind) {
        case 'record':
          return h('fieldset', { class: 'record' }, [
            h('legend', s.label),
            ...(s.children ?? []).map(control),
          ]);
        case 'boolean':
          return h('div', { class: 'field field-check' }, [
            h('input', {
              ...common(s),
              type: 'checkbox',
              checked: values[s.path] === true,
              onChange: (e: Event) => (values[s.path] = (e.target as HTMLInputElement).checked),
            }),
            label(s),
            ...message(s),
          ]);
        case 'multiselect': {
          const chosen = () => (Array.isArray(values[s.path]) ? (values[s.path] as string[]) : []);
          return h('fieldset', { class: 'field', 'aria-describedby': describedBy(s) }, [
            h('legend', s.label),
            h(
              'div',
              { class: 'options' },
              (s.options ?? []).map((o) =>
                h('label', { class: 'option' }, [
                  h('input', {
                    type: 'checkbox',
                    name: s.path,
                    value: o,
                    checked: chosen().includes(o),
                    onChange: (e: Event) => {
                      const on = (e.target as HTMLInputElement).checked;
                      values[s.path] = on ? [...chosen(), o] : chosen().filter((x) => x !== o);
                    },
                  }),
                  ` ${o}`,
                ]),
              ),
            ),
            ...message(s),
          ]);
        }
        case 'select':
        case 'foreign':
          return h('div', { class: 'field' }, [
            label(s),
            h('select', { ...common(s), value: str(), onChange: onInput }, [
              h(
                'option',
                { value: '' },
                s.required ? 'choose…' : s.kind === 'foreign' ? '(none)' : '(default)',
              ),
              ...(s.options ?? []).map((o) =>
                h('option', { value: o, selected: o === str() }, s.optionLabels?.[o] ?? o),
              ),
            ]),
            ...message(s),
          ]);
        case 'list':
        case 'json':
          return h('div', { class: 'field' }, [
            label(s),
            h('textarea', {
              ...common(s),
              rows: s.kind === 'list' ? 2 : 4,
              value: str(),
              placeholder: s.kind === 'list' ? 'one per line' : 'JSON',
              spellcheck: s.kind === 'list' ? undefined : 'false',
              onInput,
            }),
            ...message(s),
          ]);
        default:
          return h('div', { class: 'field' }, [
            label(s),
            h('input', {
              ...common(s),
              type: s.secret ? 'password' : 'text',
              autocomplete: s.secret ? 'new-password' : undefined,
              inputmode: s.kind === 'number' || s.kind === 'integer' ? 'decimal' : undefined,
              value: str(),
              onInput,
            }),
            ...message(s),
          ]);
      }
    };
    return () => h('div', { class: 'schema-form' }, props.fields.map(control));
  },
});

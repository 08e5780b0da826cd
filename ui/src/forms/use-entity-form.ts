/**
 * A create/edit form for an Admin API entity, generated from `/schemas/{schema}` (fetched once per
 * schema): the schema's fields less `omit`, foreign keys as selects of the referenced entities (their first 1,000, by name).
 */
import { ref } from 'vue';
import { ENTITY_KINDS, entityLabel, type Entity } from '../entity-kinds';
import type { Page } from '../api/client';
import { session } from '../session';
import { entityFields, type FieldSpec, type Schema } from './schema-form';
import { useForm } from './use-form';

const schemas = new Map<string, Promise<Schema>>();

function schemaOf(name: string): Promise<Schema> {
  let s = schemas.get(name);
  if (!s) {
    s = session.client.get<Schema>(`/schemas/${encodeURIComponent(name)}`);
    s.catch(() => schemas.delete(name));
    schemas.set(name, s);
  }
  return s;
}

/** The collection of a referenced kind: `key_sets` is served at `/key-sets`. */
const collectionOf = (kind: string) =>
  ENTITY_KINDS.find((k) => k.collection.replace(/-/g, '_') === kind)?.collection ?? kind;

/** Foreign-key and member choices: the referenced entities by id, shown by name. */
export async function withOptions(fields: FieldSpec[]): Promise<FieldSpec[]> {
  return Promise.all(
    fields.map(async (f) => {
      if (!f.reference) return f;
      const page = await session.client.get<Page<Entity>>(`/${collectionOf(f.reference)}?size=1000`);
      return {
        ...f,
        options: page.data.map((e) => e.id),
        optionLabels: Object.fromEntries(page.data.map((e) => [e.id, entityLabel(e)])),
      };
    }),
  );
}

export function useEntityForm(schema: string, omit: readonly string[] = []) {
  const fields = ref<FieldSpec[]>([]);
  const loadError = ref('');
  const form = useForm(() => fields.value);

  /**
   * Loads the fields (the schema's, or `given`) with the foreign keys' choices, and starts the
   * form from `entity`, or empty.
   */
  async function open(entity?: Entity, given?: FieldSpec[]): Promise<boolean> {
    try {
      const generated =
        given ??
        entityFields(await schemaOf(schema), {
          omit,
        });
      fields.value = await withOptions(generated);
      loadError.value = '';
    } catch (e) {
      loadError.value = (e as Error).message;
      return false;
    }
    form.reset(entity);
    return true;
  }

  return { fields, loadError, state: form.state, submit: form.submit, open };
}

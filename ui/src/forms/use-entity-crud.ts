/**
 * Saving and deleting the entities of one collection from a screen: which one the form edits
 * (`'new'` for a create), POST or PATCH of the form's body, a confirmed DELETE, the list reloaded
 * after each, and a delete's error to show above the list.
 */
import { errorText } from '../api/errors';
import { ref } from 'vue';
import { type Entity } from '../entity-kinds';
import { notifySaved } from '../propagation';
import { session } from '../session';

export function useEntityCrud(o: {
  collection: () => string;
  /** The form's submit (use-form.ts): sends its body, true when the Admin API took it. */
  submit: (send: (body: Record<string, unknown>) => Promise<unknown>) => Promise<boolean>;
  reload: () => Promise<void> | undefined;
  /** The delete confirmation's question. */
  question: (e: Entity) => string;
}) {
  const editing = ref<Entity | 'new' | null>(null);
  const error = ref('');

  async function save(): Promise<void> {
    const current = editing.value;
    const ok = await o.submit((body) =>
      current === 'new' || current === null
        ? session.client.request('POST', o.collection(), body)
        : session.client.request('PATCH', `${o.collection()}/${current.id}`, body),
    );
    if (ok) {
      editing.value = null;
      await o.reload();
    }
  }

  /** Deletes after the user confirms; true when deleted. */
  async function remove(e: Entity): Promise<boolean> {
    if (!confirm(o.question(e))) return false;
    let done = false;
    try {
      await session.client.request('DELETE', `${o.collection()}/${e.id}`);
      notifySaved();
      error.value = '';
      done = true;
    } catch (err) {
      error.value = errorText(err);
    }
    await o.reload();
    return done;
  }

  return { editing, error, save, remove };
}

/** A list screen's data: every page of an Admin API collection, reloaded on demand. */
import { ref } from 'vue';
import { errorText } from './api/errors';
import { LatestOnly } from './latest';
import { notifySaved } from './propagation';
import { session } from './session';

export function useList<T>(path: () => string) {
  const items = ref<T[]>([]) as { value: T[] };
  const error = ref('');
  const loading = ref(false);
  // Only the newest reload shows its answer.
  const loads = new LatestOnly();
  async function reload(): Promise<void> {
    const current = loads.begin();
    loading.value = true;
    try {
      const rows = await session.client.list<T>(path());
      if (!current()) return;
      items.value = rows;
      error.value = '';
    } catch (e) {
      if (current()) error.value = errorText(e);
    } finally {
      if (current()) loading.value = false;
    }
  }
  /** A change to the collection (delete, enable, …): its error shown above the list, then a reload. */
  async function change(method: string, path: string, body?: unknown): Promise<void> {
    try {
      await session.client.request(method, path, body);
      notifySaved();
    } catch (e) {
      error.value = errorText(e);
    }
    await reload();
  }
  /** Deletes after the user confirms `question`. */
  async function remove(path: string, question: string): Promise<void> {
    if (confirm(question)) await change('DELETE', path);
  }
  return { items, error, loading, reload, change, remove };
}

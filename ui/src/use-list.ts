/** A list screen's data: every page of an Admin API collection, reloaded on demand. */
import { ref } from 'vue';
import { session } from './session';

export function useList<T>(path: () => string) {
  const items = ref<T[]>([]) as { value: T[] };
  const error = ref('');
  const loading = ref(false);
  async function reload(): Promise<void> {
    loading.value = true;
    try {
      items.value = await session.client.list<T>(path());
      error.value = '';
    } catch (e) {
      error.value = (e as Error).message;
    } finally {
      loading.value = false;
    }
  }
  return { items, error, loading, reload };
}

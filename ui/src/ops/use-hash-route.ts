/** The current location hash, parsed, kept up to date while the calling component is mounted. */
import { onMounted, onUnmounted, ref } from 'vue';
import { parseHash, type HashRoute } from './hash-route';

export function useHashRoute() {
  const route = ref<HashRoute>(parseHash(location.hash));
  const onHash = () => (route.value = parseHash(location.hash));
  onMounted(() => window.addEventListener('hashchange', onHash));
  onUnmounted(() => window.removeEventListener('hashchange', onHash));
  return route;
}

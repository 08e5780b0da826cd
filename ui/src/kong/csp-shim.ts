/**
 * The CP serves the UI with `style-src 'self'` (control-plane/src/admin-gui/server.ts): no inline
 * styles. Kongponents' KModal appends one `<style>` per modal for its scroll lock
 * (`body.k-modal-<id>-overflow-hidden { overflow: hidden; }`), which that policy refuses with a
 * console error. Our stylesheet has the same rule for every such class (style.css), so those
 * elements are not appended; anything else is.
 */
const KMODAL_SCROLL_LOCK = /^body\.k-modal-[\w-]+-overflow-hidden \{ overflow: hidden; \}$/;

/** Whether a node is KModal's inline scroll-lock style (pure: unit-tested). */
export function isKModalScrollLock(node: { nodeName: string; textContent: string | null }): boolean {
  return node.nodeName === 'STYLE' && KMODAL_SCROLL_LOCK.test(node.textContent ?? '');
}

export function installCspShim(head: HTMLHeadElement = document.head): void {
  const append = head.appendChild.bind(head);
  head.appendChild = <T extends Node>(node: T): T => (isKModalScrollLock(node) ? node : append(node));
}

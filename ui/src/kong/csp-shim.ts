/**
 * The CP serves the UI with `style-src 'self'` (control-plane/src/admin-gui/server.ts): no inline
 * styles. Two things in Kong's packages bring some, which that policy refuses with a console error;
 * our stylesheet (style.css) carries the same rules, so the inline copies are left out:
 * - Kongponents' KModal appends one `<style>` per modal for its scroll lock
 *   (`body.k-modal-<id>-overflow-hidden { overflow: hidden; }`): those elements are not appended
 *   (anything else is);
 * - Kong's icons (`@kong/icons`) set their SVG's markup as `innerHTML`, and a few carry inline
 *   styles (ProgressIcon, the spinner KMultiselect shows while it loads: a `<style>` with its
 *   keyframes and a `style` attribute on its path; `mask-type` on some masks): those exact pieces
 *   become classes of ours before the markup is parsed (SVG elements only).
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

/** Inline-styled pieces of `@kong/icons` markup and what replaces them (style.css has the rules). */
const ICON_INLINE_STYLES: readonly (readonly [string, string])[] = [
  [
    '<style>@keyframes kong-icon-spin { from {transform: rotate(0deg);} to {transform: rotate(360deg);} }</style>',
    '',
  ],
  [
    ' style="transform-origin: 50% 50%; animation: kong-icon-spin 1.5s linear infinite;"',
    ' class="kong-icon-spin"',
  ],
  [' style="mask-type:luminance"', ' class="kong-icon-mask-luminance"'],
];

/** SVG markup with Kong's icons' inline styles replaced by our classes (pure: unit-tested). */
export function iconMarkupWithoutInlineStyles(markup: string): string {
  return ICON_INLINE_STYLES.reduce((m, [from, to]) => m.split(from).join(to), markup);
}

const isTrustedHtml = (value: unknown): boolean =>
  (globalThis as { trustedTypes?: { isHTML(v: unknown): boolean } }).trustedTypes?.isHTML(value) ?? false;

/** Rewrites markup set as `innerHTML` on SVG elements (Kong's icons) before it is parsed. */
export function installIconShim(proto: object = SVGElement.prototype): void {
  const inner = Object.getOwnPropertyDescriptor(Element.prototype, 'innerHTML');
  if (!inner?.set || !inner.get) return;
  Object.defineProperty(proto, 'innerHTML', {
    configurable: true,
    get(this: Element): unknown {
      return inner.get!.call(this);
    },
    // Vue hands the markup over as TrustedHTML where the browser has Trusted Types (the CSP does
    // not require them): its text is read, and sent on as text only when it changed.
    set(this: Element, value: unknown) {
      const markup = typeof value === 'string' || isTrustedHtml(value) ? String(value) : undefined;
      const rewritten = markup === undefined ? markup : iconMarkupWithoutInlineStyles(markup);
      inner.set!.call(this, rewritten !== undefined && rewritten !== markup ? rewritten : value);
    },
  });
}

import { describe, expect, it } from 'vitest';
import { iconMarkupWithoutInlineStyles, isKModalScrollLock } from './csp-shim';

describe('isKModalScrollLock', () => {
  it("matches KModal's scroll-lock style and nothing else", () => {
    const style = (textContent: string) => ({ nodeName: 'STYLE', textContent });
    expect(isKModalScrollLock(style('body.k-modal-v-70-overflow-hidden { overflow: hidden; }'))).toBe(true);
    expect(isKModalScrollLock(style('body { overflow: hidden; }'))).toBe(false);
    expect(isKModalScrollLock(style('body.k-modal-v-1-overflow-hidden { overflow: hidden; } a{}'))).toBe(
      false,
    );
    expect(
      isKModalScrollLock({
        nodeName: 'SCRIPT',
        textContent: 'body.k-modal-x-overflow-hidden { overflow: hidden; }',
      }),
    ).toBe(false);
  });
});

describe('iconMarkupWithoutInlineStyles', () => {
  it("turns ProgressIcon's inline keyframes and path style into our class", () => {
    const progress =
      '<title>Loading</title><style>@keyframes kong-icon-spin { from {transform: rotate(0deg);} to {transform: rotate(360deg);} }</style>\n' +
      '<path d="M12 22Z" fill="currentColor" style="transform-origin: 50% 50%; animation: kong-icon-spin 1.5s linear infinite;"/>';
    expect(iconMarkupWithoutInlineStyles(progress)).toBe(
      '<title>Loading</title>\n<path d="M12 22Z" fill="currentColor" class="kong-icon-spin"/>',
    );
  });

  it('turns every mask-type style into a class and leaves other markup alone', () => {
    expect(
      iconMarkupWithoutInlineStyles(
        '<mask id="a" style="mask-type:luminance" x="3"></mask><mask id="b" style="mask-type:luminance"></mask>',
      ),
    ).toBe(
      '<mask id="a" class="kong-icon-mask-luminance" x="3"></mask><mask id="b" class="kong-icon-mask-luminance"></mask>',
    );
    const other = '<path d="M1 1" style="fill: red"/><style>a{}</style>';
    expect(iconMarkupWithoutInlineStyles(other)).toBe(other);
  });
});

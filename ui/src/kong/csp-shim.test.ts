import { describe, expect, it } from 'vitest';
import { isKModalScrollLock } from './csp-shim';

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

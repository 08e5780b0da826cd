import { describe, expect, it } from 'vitest';
import { tag, tagError } from './typedefs.js';

// Kong's validate_tag (kong/db/schema/typedefs.lua; spec/02-integration/04-admin_api/14-tags_spec.lua).
describe('the tag rule', () => {
  it('accepts printable ASCII with spaces, and non-ASCII characters', () => {
    for (const tag of ['corp_ a', ' lead', 'trail ', '#?*@', '🦍', 'é'])
      expect(tagError(tag), tag).toBeNull();
  });

  it("refuses ',', '/', control characters and DEL with Kong's message", () => {
    for (const tag of ['a,b', 'a/b', 'a\tb', 'a\u0000', 'a\u007f'])
      expect(tagError(tag)).toBe(
        `invalid tag '${tag}': expected printable ascii (except \`,\` and \`/\`) or valid utf-8 sequences`,
      );
  });

  it('refuses a lone surrogate (not UTF-8), naming its byte position', () => {
    expect(tagError('ab\ud800')).toBe('invalid utf-8 character sequence detected at position 3');
    expect(tagError('é\udc00')).toBe('invalid utf-8 character sequence detected at position 3');
  });
});

describe('tags in the reserved gatehouse: namespace', () => {
  const check = tag().custom_validator!;
  it('accepts valid scope tags and ordinary tags', () => {
    for (const t of ['gatehouse:region=eu', 'gatehouse:label=tier=gold', 'team:gatehouse', 'gatehouse'])
      expect(check(t), t).toBeNull();
  });
  it('refuses a reserved tag that is not a valid scope tag', () => {
    for (const t of [
      'gatehouse:regoin=eu',
      'gatehouse:region=',
      'gatehouse:label=tier',
      'gatehouse:region=e u',
    ])
      expect(check(t), t).toMatch(/^invalid scope tag/);
  });
});

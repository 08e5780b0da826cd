import { describe, expect, it } from 'vitest';
import {
  controlSelectors,
  errorBody,
  fieldLabel,
  fieldMessages,
  messageText,
  placeMessages,
  type FieldMessage,
} from './field-errors';

/** Kong's 400 for a plugin with a bad `config.minute`, a bad second path and two entity checks. */
const BODY = {
  code: 2,
  name: 'schema violation',
  message: 'schema violation (…)',
  fields: {
    config: { minute: 'value should be between 0 and 100', key_names: [null, "bad header name 'x y'"] },
    paths: [null, 'should start with: /'],
    '@entity': ['at least one of these fields must be non-empty: …', 'second entity message'],
    name: 'must not be empty',
  },
};

describe('fieldMessages', () => {
  it('flattens nested records, array elements by index and @entity messages', () => {
    expect(fieldMessages(BODY)).toEqual([
      { path: 'config.minute', message: 'value should be between 0 and 100' },
      { path: 'config.key_names.1', message: "bad header name 'x y'" },
      { path: 'paths.1', message: 'should start with: /' },
      { path: '@entity', message: 'at least one of these fields must be non-empty: …' },
      { path: '@entity', message: 'second entity message' },
      { path: 'name', message: 'must not be empty' },
    ]);
  });

  it('finds nothing in a body without fields, a non-object or a prototype key', () => {
    expect(fieldMessages({ message: 'forbidden' })).toEqual([]);
    expect(fieldMessages('oops')).toEqual([]);
    expect(fieldMessages(null)).toEqual([]);
    expect(fieldMessages(JSON.parse('{"fields":{"__proto__":{"x":"y"},"a":"b"}}'))).toEqual([
      { path: 'a', message: 'b' },
    ]);
  });

  it("reads the body of an axios error as Kong's forms emit it", () => {
    expect(errorBody({ response: { status: 400, data: BODY } })).toBe(BODY);
    expect(errorBody(new Error('network'))).toBeUndefined();
    expect(errorBody(null)).toBeUndefined();
  });
});

describe('controlSelectors', () => {
  it("tries Kong's data-testid, id and name patterns for a field", () => {
    expect(controlSelectors('config.minute')).toEqual([
      '[data-testid="config-minute-input"]',
      '[data-testid="config-minute"]',
      '[id="config-minute"]',
      '[id="config.minute"]',
      '[name="config.minute"]',
      '[name="config-minute"]',
    ]);
  });

  it("finds an array element's control first, then the field's first control", () => {
    const s = controlSelectors('paths.1', { testidPrefix: 'route-form-' });
    expect(s.indexOf('[data-testid="route-form-paths-input-2"]')).toBeLessThan(
      s.indexOf('[data-testid="route-form-paths-input-1"]'),
    );
    expect(s[0]).toBe('[data-testid="paths-item-1"] input');
    expect(s.at(-1)).toBe('[data-testid="route-form-paths-input-1"]');
  });

  it("puts the form's aliases first, for the element and for its field", () => {
    const s = controlSelectors('host', { aliases: { host: ['#url'] } });
    expect(s[0]).toBe('#url');
    expect(controlSelectors('headers.0', { aliases: { headers: ['#h'] } })[0]).toBe('#h');
  });

  it('has no control for entity-level messages and quotes odd names', () => {
    expect(controlSelectors('@entity')).toEqual([]);
    expect(controlSelectors('a"b')).toContain('[name="a\\"b"]');
  });
});

describe('placeMessages', () => {
  const dom: Record<string, string> = {
    '[data-testid="config-key_names-item-1"] input': 'key-input-2',
    '[data-testid="route-form-paths-input-2"]': 'path-2',
    '#url': 'url',
  };
  const find = (s: string) => dom[s] ?? null;

  it('puts each message at the first control found and the rest in the summary', () => {
    const messages: FieldMessage[] = [
      ...fieldMessages(BODY),
      { path: 'host', message: 'bad host' },
      { path: 'port', message: 'bad port' },
    ];
    const { placed, unplaced } = placeMessages(messages, find, {
      testidPrefix: 'route-form-',
      aliases: { host: ['#url'], port: ['#url'] },
    });
    expect(placed.map((p) => [p.control, p.messages.map((m) => m.path)])).toEqual([
      ['key-input-2', ['config.key_names.1']],
      ['path-2', ['paths.1']],
      ['url', ['host', 'port']],
    ]);
    expect(unplaced.map((m) => m.path)).toEqual(['config.minute', '@entity', '@entity', 'name']);
    expect(messageText(placed[0]!.messages)).toBe("bad header name 'x y'");
    expect(messageText(placed[2]!.messages)).toBe('host: bad host; port: bad port');
  });

  it('names the field when the control was found through an alias', () => {
    const { placed } = placeMessages([{ path: 'host', message: 'bad host' }], find, {
      aliases: { host: ['#url'] },
    });
    expect(messageText(placed[0]!.messages)).toBe('host: bad host');
  });
});

describe('fieldLabel', () => {
  it('names array elements from 1 and entity messages as the entity', () => {
    expect(fieldLabel('paths.1')).toBe('paths (item 2)');
    expect(fieldLabel('config.minute')).toBe('config.minute');
    expect(fieldLabel('@entity')).toBe('the entity');
  });
});

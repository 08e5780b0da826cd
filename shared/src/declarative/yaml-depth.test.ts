import { describe, expect, it } from 'vitest';
import { isGatehouseError } from '../errors.js';
import { parseDeclarative } from './parse.js';
import { yamlNestsDeeperThan } from './yaml-depth.js';

describe('YAML nesting depth, read before composing', () => {
  it('counts block, compact and flow collections', () => {
    expect(yamlNestsDeeperThan('a: [1, {b: 2}]\n', 3)).toBe(false);
    expect(yamlNestsDeeperThan('a: [1, {b: 2}]\n', 2)).toBe(true);
    expect(yamlNestsDeeperThan('- - - x\n', 3)).toBe(false);
    expect(yamlNestsDeeperThan('- - - - x\n', 3)).toBe(true);
    expect(yamlNestsDeeperThan('a:\n  b:\n    c: 1\n', 3)).toBe(false);
    expect(yamlNestsDeeperThan('a:\n  b:\n    c:\n      d: 1\n', 3)).toBe(true);
    // Brackets inside quoted and block scalars are text.
    expect(yamlNestsDeeperThan(`a: "${'['.repeat(500)}"\nb: |\n  ${'{'.repeat(500)}\n`, 3)).toBe(false);
  });

  it('refuses `- - - … x` ten thousand levels deep with the declarative syntax error (the process used to die)', () => {
    for (const text of ['- '.repeat(10_000) + 'x', '['.repeat(100_000), 'a: ' + '{a: '.repeat(10_000)]) {
      let err: unknown;
      try {
        parseDeclarative(text, { filename: 'deep.yaml' });
      } catch (e) {
        err = e;
      }
      expect(isGatehouseError(err) && err.code).toBe('GH_ERR_DECLARATIVE_SYNTAX');
      expect((err as Error).message).toContain('nested more than 64 levels deep');
    }
  });
});

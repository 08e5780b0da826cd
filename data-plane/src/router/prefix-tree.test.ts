import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PrefixTree } from './prefix-tree.js';

/** Every list the tree yields for `path`, in order. */
function visited<V>(tree: PrefixTree<V>, path: string): V[][] {
  const out: V[][] = [];
  tree.visitPrefixesOf(path, { visitPrefix: (values) => out.push([...values]) });
  return out;
}

/** The same answer by brute force: values of each stored prefix of `path`, shortest first. */
function expected(inserted: readonly [string, number][], path: string): number[][] {
  const byPrefix = new Map<string, number[]>();
  for (const [prefix, value] of inserted) {
    if (!byPrefix.has(prefix)) byPrefix.set(prefix, []);
    byPrefix.get(prefix)!.push(value);
  }
  return [...byPrefix.entries()]
    .filter(([prefix]) => path.startsWith(prefix))
    .sort(([a], [b]) => a.length - b.length)
    .map(([, values]) => values);
}

// Few characters, so prefixes share stems, split labels and sit inside each other.
const text = fc.stringOf(fc.constantFrom('/', 'a', 'b', 'é', '\u{1F600}'), { maxLength: 8 });

describe('PrefixTree', () => {
  it('yields the values of every stored prefix of a path, shortest first, in insertion order', () => {
    fc.assert(
      fc.property(fc.array(text, { maxLength: 30 }), fc.array(text, { maxLength: 20 }), (prefixes, paths) => {
        const tree = new PrefixTree<number>();
        const inserted = prefixes.map((p, i) => [p, i] as [string, number]);
        for (const [p, v] of inserted) tree.insert(p, v);
        for (const path of [...paths, ...prefixes])
          expect(visited(tree, path)).toEqual(expected(inserted, path));
      }),
      { numRuns: 500 },
    );
  });

  it('splits a label where a shorter prefix ends inside it', () => {
    const tree = new PrefixTree<string>();
    tree.insert('/svc-10', 'long');
    tree.insert('/svc-1', 'short');
    tree.insert('/svc-2', 'sibling');
    expect(visited(tree, '/svc-100')).toEqual([['short'], ['long']]);
    expect(visited(tree, '/svc-1')).toEqual([['short']]);
    expect(visited(tree, '/svc-20')).toEqual([['sibling']]);
    expect(visited(tree, '/svc-')).toEqual([]);
    expect(visited(tree, '/other')).toEqual([]);
  });
});

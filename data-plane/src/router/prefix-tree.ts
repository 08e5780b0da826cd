/**
 * A radix tree of path prefixes: each node holds the characters from its parent (`label`) and the
 * values of the prefix that ends there. Finding every stored prefix of a path walks one node per
 * branching point, compares labels in place (no substring, no allocation) and does one map lookup
 * per node; the tree has about one node per stored prefix, where a character trie has one per
 * character, each with its own map (for 10,000 routes `/svc-N`: ~11,000 maps).
 */

/** Receives the values of each stored prefix of a path, shortest prefix first. */
export interface PrefixVisitor<V> {
  visitPrefix(values: readonly V[]): void;
}

class PrefixNode<V> {
  /** Children by the first character of their label; null for a leaf. */
  children: Map<number, PrefixNode<V>> | null = null;
  /** Values of the prefix ending here, in insertion order; null when none ends here. */
  values: V[] | null = null;

  constructor(public label: string) {}

  add(value: V): void {
    // A literal holds one element where push on an empty array reserves room for 17.
    if (this.values === null) this.values = [value];
    else this.values.push(value);
  }

  link(child: PrefixNode<V>): void {
    (this.children ??= new Map()).set(child.label.charCodeAt(0), child);
  }
}

export class PrefixTree<V> {
  private readonly root = new PrefixNode<V>('');

  /** Adds `value` under `prefix` (after the values already there). */
  insert(prefix: string, value: V): void {
    let node = this.root;
    let i = 0;
    for (;;) {
      if (i === prefix.length) {
        node.add(value);
        return;
      }
      const child = node.children?.get(prefix.charCodeAt(i));
      if (child === undefined) {
        const leaf = new PrefixNode<V>(prefix.slice(i));
        leaf.add(value);
        node.link(leaf);
        return;
      }
      const label = child.label;
      let common = 1;
      while (
        common < label.length &&
        i + common < prefix.length &&
        label.charCodeAt(common) === prefix.charCodeAt(i + common)
      )
        common++;
      if (common < label.length) {
        // The prefix leaves the child's label part-way: split the label there.
        const middle = new PrefixNode<V>(label.slice(0, common));
        child.label = label.slice(common);
        middle.link(child);
        node.link(middle);
        node = middle;
      } else {
        node = child;
      }
      i += common;
    }
  }

  /** Hands `visitor` the values of every stored prefix of `path`, shortest first. */
  visitPrefixesOf(path: string, visitor: PrefixVisitor<V>): void {
    let node = this.root;
    let i = 0;
    for (;;) {
      if (node.values !== null) visitor.visitPrefix(node.values);
      if (node.children === null || i >= path.length) return;
      const next = node.children.get(path.charCodeAt(i));
      if (next === undefined || !path.startsWith(next.label, i)) return;
      i += next.label.length;
      node = next;
    }
  }
}

/**
 * How deep a YAML text nests, read from the `yaml` package's CST (its lexer and parser keep an
 * explicit stack and never recurse) before the text is composed into values (which recurses once
 * per level). Composing `- - - … x` ten thousand levels deep exhausts the stack, and where that
 * happens inside V8's regexp compiler the process dies (a fatal out-of-memory, not a catchable
 * RangeError): found by the decoder fuzzer (test/fuzz/decoders.test.ts).
 */
import { Parser, type CST } from 'yaml';

/** True when some collection in `text` is nested more than `limit` collections deep. */
export function yamlNestsDeeperThan(text: string, limit: number): boolean {
  const stack: [CST.Token | undefined, number][] = [];
  for (const token of new Parser().parse(text)) stack.push([token, 0]);
  while (stack.length > 0) {
    const [token, depth] = stack.pop()!;
    if (token === undefined) continue;
    switch (token.type) {
      case 'document':
        stack.push([token.value, depth]);
        break;
      case 'block-map':
      case 'block-seq':
      case 'flow-collection': {
        if (depth + 1 > limit) return true;
        for (const item of token.items) {
          if ('key' in item) stack.push([item.key ?? undefined, depth + 1]);
          stack.push([item.value, depth + 1]);
        }
        break;
      }
      default:
        break;
    }
  }
  return false;
}

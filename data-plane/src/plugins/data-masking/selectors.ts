/**
 * JSONPath-like selectors, parsed once at config time into steps and applied to parsed JSON:
 *
 *   $              the root
 *   .name  ['name'] ["name"]   a member (names: letters, digits, `_`, `$`, `-`; quoted: anything)
 *   [0]            an array element (non-negative index)
 *   [*]  .*        every member / element
 *   ..name  ..[*]  ..['name']  the step applied at every depth below (recursive descent)
 *
 * Filters, slices, unions and script expressions are refused with a message naming the selector.
 * Member lookups see own properties only (`__proto__` is a plain key here, never the prototype).
 */
export type Step =
  | { readonly kind: 'key'; readonly key: string; readonly deep: boolean }
  | { readonly kind: 'index'; readonly index: number; readonly deep: boolean }
  | { readonly kind: 'all'; readonly deep: boolean };

export type Selector = readonly Step[];

export const MAX_SELECTOR_LENGTH = 512;
export const MAX_STEPS = 32;

const NAME = /^[A-Za-z0-9_$-]+/;

/** Parses `text`: the steps, or a message naming the selector and what is wrong. */
export function parseSelector(text: string): Selector | { error: string } {
  const fail = (why: string) => ({ error: `invalid selector '${text}': ${why}` });
  if (text.length > MAX_SELECTOR_LENGTH)
    return { error: `invalid selector: longer than ${MAX_SELECTOR_LENGTH} characters` };
  if (!text.startsWith('$')) return fail("must start with '$'");
  const steps: Step[] = [];
  let i = 1;
  while (i < text.length) {
    let deep = false;
    if (text.startsWith('..', i)) {
      deep = true;
      i += 2;
      if (text[i] !== '[') {
        if (text[i] === '*') {
          steps.push({ kind: 'all', deep });
          i++;
          continue;
        }
        const m = NAME.exec(text.slice(i));
        if (m === null) return fail(`expected a name after '..' at ${i}`);
        steps.push({ kind: 'key', key: m[0], deep });
        i += m[0].length;
        continue;
      }
    } else if (text[i] === '.') {
      i++;
      if (text[i] === '*') {
        steps.push({ kind: 'all', deep });
        i++;
        continue;
      }
      const m = NAME.exec(text.slice(i));
      if (m === null) return fail(`expected a name after '.' at ${i}`);
      steps.push({ kind: 'key', key: m[0], deep });
      i += m[0].length;
      continue;
    }
    if (text[i] !== '[') return fail(`unexpected '${text[i]}' at ${i}`);
    i++;
    const c = text[i];
    if (c === '*') {
      if (text[i + 1] !== ']') return fail(`expected ']' at ${i + 1}`);
      steps.push({ kind: 'all', deep });
      i += 2;
    } else if (c === "'" || c === '"') {
      let key = '';
      let j = i + 1;
      for (; j < text.length && text[j] !== c; j++) {
        if (text[j] === '\\' && j + 1 < text.length) j++;
        key += text[j];
      }
      if (j >= text.length) return fail('unterminated quoted name');
      if (text[j + 1] !== ']') return fail(`expected ']' at ${j + 1}`);
      steps.push({ kind: 'key', key, deep });
      i = j + 2;
    } else {
      const m = /^(\d{1,9})\]/.exec(text.slice(i));
      if (m === null) return fail(`only [n], [*] and ['name'] are supported (at ${i})`);
      steps.push({ kind: 'index', index: Number(m[1]), deep });
      i += m[0].length;
    }
    if (steps.length > MAX_STEPS) return fail(`more than ${MAX_STEPS} steps`);
  }
  if (steps.length > MAX_STEPS) return fail(`more than ${MAX_STEPS} steps`);
  return steps;
}

export function selectorError(text: string): string | null {
  const r = parseSelector(text);
  return 'error' in r ? r.error : null;
}

type Container = Record<string, unknown> | unknown[];

function isContainer(v: unknown): v is Container {
  return typeof v === 'object' && v !== null;
}

/** Sets an own property (a `__proto__` key included: never the prototype setter). */
export function setOwn(o: Container, key: string | number, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(o, key, { value, writable: true, enumerable: true, configurable: true });
  else (o as Record<string | number, unknown>)[key] = value;
}

/**
 * Replaces every value `selector` reaches inside `root` with `mask(value)`, in place; the new root
 * is returned (the root itself may be selected by `$`). A masked subtree is not searched again, so
 * nothing is masked twice.
 */
export function applySelector(root: unknown, selector: Selector, mask: (v: unknown) => unknown): unknown {
  if (selector.length === 0) return mask(root);
  visit(root, selector, 0, mask);
  return root;
}

function visit(node: unknown, steps: Selector, i: number, mask: (v: unknown) => unknown): void {
  if (!isContainer(node)) return;
  const step = steps[i]!;
  const last = i === steps.length - 1;
  const matchOne = (key: string | number, child: unknown): boolean => {
    if (last) {
      setOwn(node, key, mask(child));
      return true;
    }
    visit(child, steps, i + 1, mask);
    return false;
  };
  if (Array.isArray(node)) {
    for (let k = 0; k < node.length; k++) {
      const hit = step.kind === 'all' || (step.kind === 'index' && step.index === k);
      const masked = hit ? matchOne(k, node[k]) : false;
      if (step.deep && !masked) visit(node[k], steps, i, mask);
    }
    return;
  }
  for (const key of Object.keys(node)) {
    const hit = step.kind === 'all' || (step.kind === 'key' && step.key === key);
    const masked = hit ? matchOne(key, node[key]) : false;
    if (step.deep && !masked) visit(node[key], steps, i, mask);
  }
}

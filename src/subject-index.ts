import { SINGLE_WILDCARD, TAIL_WILDCARD, isSystemSubject } from './subject.js';

class TrieNode<T> {
  readonly children = new Map<string, TrieNode<T>>();
  star: TrieNode<T> | undefined = undefined;
  /** Entries whose pattern ends here. */
  here: T[] = [];
  /** Entries whose pattern ends with `>` after this node. */
  tail: T[] = [];

  get isEmpty(): boolean {
    return (
      this.children.size === 0 &&
      this.star === undefined &&
      this.here.length === 0 &&
      this.tail.length === 0
    );
  }
}

/**
 * Pattern → entries matcher: a token trie, so a lookup walks the subject's tokens instead of
 * scanning every pattern. Lists are copy-on-write: `add`/`remove` build new arrays, so a list
 * returned by `match` never changes under a caller iterating it.
 *
 * @typeParam T - what is registered per pattern (the bus registers queues)
 */
export class SubjectIndex<T> {
  private readonly root = new TrieNode<T>();
  private count = 0;

  /** Number of registered entries. */
  get size(): number {
    return this.count;
  }

  /** Registers `entry` under the (already validated) pattern tokens. */
  add(patternTokens: readonly string[], entry: T): void {
    let node = this.root;
    const last = patternTokens.length - 1;
    for (let i = 0; i < last; i++) node = child(node, patternTokens[i]);
    const token = patternTokens[last];
    if (token === TAIL_WILDCARD) node.tail = [...node.tail, entry];
    else {
      const leaf = child(node, token);
      leaf.here = [...leaf.here, entry];
    }
    this.count++;
  }

  /** Removes `entry` from the pattern; returns false if it was not there. Prunes empty nodes. */
  remove(patternTokens: readonly string[], entry: T): boolean {
    const path: TrieNode<T>[] = [this.root];
    let node: TrieNode<T> | undefined = this.root;
    const last = patternTokens.length - 1;
    const tailPattern = patternTokens[last] === TAIL_WILDCARD;
    const depth = tailPattern ? last : last + 1;
    for (let i = 0; i < depth && node !== undefined; i++) {
      const token = patternTokens[i];
      node = token === SINGLE_WILDCARD ? node.star : node.children.get(token);
      if (node !== undefined) path.push(node);
    }
    if (node === undefined) return false;
    const list = tailPattern ? node.tail : node.here;
    const at = list.indexOf(entry);
    if (at < 0) return false;
    const next = list.filter((_, i) => i !== at);
    if (tailPattern) node.tail = next;
    else node.here = next;
    this.count--;
    for (let i = path.length - 1; i > 0 && path[i].isEmpty; i--) {
      const parent = path[i - 1];
      const token = patternTokens[i - 1];
      if (token === SINGLE_WILDCARD) parent.star = undefined;
      else parent.children.delete(token);
    }
    return true;
  }

  /**
   * Appends every entry whose pattern matches the subject tokens to `out`. Patterns that start
   * with a wildcard do not match system subjects (`$…`).
   */
  match(subjectTokens: readonly string[], out: T[]): T[] {
    walk(this.root, subjectTokens, 0, isSystemSubject(subjectTokens), out);
    return out;
  }
}

function child<T>(node: TrieNode<T>, token: string): TrieNode<T> {
  if (token === SINGLE_WILDCARD) return (node.star ??= new TrieNode<T>());
  let next = node.children.get(token);
  if (next === undefined) {
    next = new TrieNode<T>();
    node.children.set(token, next);
  }
  return next;
}

function walk<T>(
  node: TrieNode<T>,
  tokens: readonly string[],
  i: number,
  system: boolean,
  out: T[]
): void {
  if (i === tokens.length) {
    for (const entry of node.here) out.push(entry);
    return;
  }
  const wildcardsAllowed = !(system && i === 0);
  // '>' needs at least one remaining token, so tails are collected only before the end.
  if (wildcardsAllowed) for (const entry of node.tail) out.push(entry);
  const exact = node.children.get(tokens[i]);
  if (exact !== undefined) walk(exact, tokens, i + 1, system, out);
  if (wildcardsAllowed && node.star !== undefined) walk(node.star, tokens, i + 1, system, out);
}

/**
 * User-Agent classification for bot-detection: allow list first (a match lets the request
 * through), then the deny list, then the built-in list. Results are cached per plugin instance
 * (an LRU of 10 000 User-Agents, as Kong) so a regex runs once per distinct agent.
 */
import { BUILTIN_BOT_PATTERNS } from './rules.js';

export const enum Verdict {
  None = 0,
  Allowed = 1,
  Denied = 2,
  Bot = 3,
}

const CACHE_SIZE = 10_000;

let builtin: readonly RegExp[] | null = null;
function builtinRules(): readonly RegExp[] {
  return (builtin ??= BUILTIN_BOT_PATTERNS.map((p) => new RegExp(p)));
}

export class UserAgentMatcher {
  private readonly allow: readonly RegExp[];
  private readonly deny: readonly RegExp[];
  private readonly cache = new Map<string, Verdict>();

  constructor(allow: readonly string[], deny: readonly string[]) {
    this.allow = allow.map((p) => new RegExp(p));
    this.deny = deny.map((p) => new RegExp(p));
  }

  /** Classifies a User-Agent (whitespace around it is ignored). */
  classify(userAgent: string): Verdict {
    const cached = this.cache.get(userAgent);
    if (cached !== undefined) {
      // Refresh its place: Map iteration order is insertion order, the oldest goes first.
      this.cache.delete(userAgent);
      this.cache.set(userAgent, cached);
      return cached;
    }
    const verdict = this.examine(userAgent.trim());
    if (this.cache.size >= CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(userAgent, verdict);
    return verdict;
  }

  /** True when the agent must be refused (deny list or built-in bot, and not allowed). */
  blocks(userAgent: string): boolean {
    return this.classify(userAgent) >= Verdict.Denied;
  }

  private examine(ua: string): Verdict {
    for (const re of this.allow) if (re.test(ua)) return Verdict.Allowed;
    for (const re of this.deny) if (re.test(ua)) return Verdict.Denied;
    for (const re of builtinRules()) if (re.test(ua)) return Verdict.Bot;
    return Verdict.None;
  }
}

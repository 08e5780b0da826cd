/**
 * bot-detection (Kong priority 2500): refuses requests whose User-Agent matches the deny list or
 * the built-in bot list (403 "Forbidden"), unless it matches the allow list. A request without a
 * User-Agent passes; one with several gets 400 "Only one User-Agent header allowed".
 */
import { definePlugin } from '../api.js';
import { UserAgentMatcher } from './matcher.js';
import { botDetectionSpec } from './schema.js';

export default definePlugin({
  ...botDetectionSpec,
  init(config) {
    return new UserAgentMatcher(config.allow, config.deny);
  },
  access(ctx, matcher) {
    const agents = ctx.request.headerValues('user-agent');
    if (agents.length === 0) return;
    if (agents.length > 1) {
      ctx.respond(400, 'Only one User-Agent header allowed');
      return;
    }
    if (matcher.blocks(agents[0]!)) ctx.respond(403, 'Forbidden');
  },
});

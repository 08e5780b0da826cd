/**
 * acl (Kong priority 950): allows or denies consumers by group, after authentication. Kong's
 * decision table (kong/plugins/acl/handler.lua):
 * - no consumer: the request's authenticated groups decide; without them, 401 (403 when a
 *   credential was matched);
 * - a consumer: its groups decide, or the authenticated groups when the consumer is anonymous
 *   (no credential) or always_use_authenticated_groups is on and there are some;
 * - a consumer without groups is refused by an allow list (401/403) and passes a deny list.
 * Refusals are 403 "You cannot consume this service". When allowed, the groups go upstream in
 * X-Consumer-Groups (X-Authenticated-Groups for authenticated groups) unless hide_groups_header.
 */
import { definePlugin, type PluginContext } from '../api.js';
import { aclSpec } from './schema.js';
import {
  authenticatedGroups,
  EMPTY_GROUPS,
  groupList,
  inAnyGroup,
  indexAcls,
  type GroupList,
} from './groups.js';

export const FORBIDDEN_MESSAGE = 'You cannot consume this service';
const CONSUMER_GROUPS_HEADER = 'X-Consumer-Groups';
const AUTHENTICATED_GROUPS_HEADER = 'X-Authenticated-Groups';

interface State {
  readonly deny: boolean;
  readonly groups: readonly string[];
  readonly hideGroupsHeader: boolean;
  readonly alwaysUseAuthenticatedGroups: boolean;
  /** The consumer's ACL group names (acls, plus consumer group names when included). */
  readonly groupsOf: (consumerId: string) => GroupList | null;
  /** consumer id -> false (blocked) or the header value (allowed). Rebuilt with each snapshot. */
  readonly decisions: Map<string, false | string>;
}

/** false when blocked, else the header value. */
function decide(state: State, groups: GroupList): false | string {
  const inGroup = inAnyGroup(state.groups, groups);
  const blocked = state.deny ? inGroup : !inGroup;
  return blocked ? false : groups.names.join(', ');
}

function refuseUnauthenticated(ctx: PluginContext): void {
  if (ctx.credential !== null) ctx.respond(403, FORBIDDEN_MESSAGE);
  else ctx.respond(401, 'Unauthorized');
}

export default definePlugin({
  ...aclSpec,
  init(config, { snapshot }): State {
    const index = snapshot.memo('acl:groups-by-consumer', () => indexAcls(snapshot.config.acls));
    const deny = config.deny !== null && config.deny.length > 0;
    const include = config.include_consumer_groups;
    const groupsOf = (id: string): GroupList | null => {
      const acls = index.get(id) ?? [];
      const names = include ? [...acls, ...snapshot.groupsOf(id).map((g) => g.name)] : acls;
      return names.length === 0 ? null : groupList(names);
    };
    return {
      deny,
      groups: (deny ? config.deny : config.allow) ?? [],
      hideGroupsHeader: config.hide_groups_header,
      alwaysUseAuthenticatedGroups: config.always_use_authenticated_groups,
      groupsOf,
      decisions: new Map(),
    };
  },
  access(ctx, state) {
    let consumerId = ctx.consumer?.id ?? ctx.credential?.consumerId ?? null;
    let verdict: false | string;
    if (consumerId === null) {
      const authenticated = authenticatedGroups(ctx.shared);
      if (authenticated === null) {
        refuseUnauthenticated(ctx);
        return;
      }
      verdict = decide(state, authenticated);
    } else {
      const authenticated =
        ctx.credential === null || state.alwaysUseAuthenticatedGroups
          ? authenticatedGroups(ctx.shared)
          : null;
      if (authenticated !== null) {
        consumerId = null;
        verdict = decide(state, authenticated);
      } else {
        const cached = state.decisions.get(consumerId);
        if (cached !== undefined) verdict = cached;
        else {
          let groups = state.groupsOf(consumerId);
          if (groups === null) {
            if (!state.deny) {
              refuseUnauthenticated(ctx);
              return;
            }
            groups = EMPTY_GROUPS;
          }
          verdict = decide(state, groups);
          state.decisions.set(consumerId, verdict);
        }
      }
    }
    if (verdict === false) {
      ctx.respond(403, FORBIDDEN_MESSAGE);
      return;
    }
    const header = consumerId !== null ? CONSUMER_GROUPS_HEADER : AUTHENTICATED_GROUPS_HEADER;
    // A hidden (or empty) group list must not let a client-sent header through either.
    if (state.hideGroupsHeader || verdict === '') ctx.removeUpstreamHeader(header);
    else ctx.setUpstreamHeader(header, verdict);
  },
});

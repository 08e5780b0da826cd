// RBAC's screens (Kong Manager Enterprise keeps them under "Teams"): RBAC users with their roles,
// and roles with their endpoint permissions. Shown to roles that may read `/rbac/...` only.
import { defineAsyncComponent } from 'vue';
import type { Screen } from './screens';

export const teamScreens: readonly Screen[] = [
  {
    path: 'rbac-users',
    title: 'RBAC Users',
    group: 'Teams',
    reads: '/rbac/users',
    view: defineAsyncComponent(() => import('./views/RbacUsersView.vue')),
  },
  {
    path: 'rbac-roles',
    title: 'Roles',
    group: 'Teams',
    reads: '/rbac/roles',
    view: defineAsyncComponent(() => import('./views/RbacRolesView.vue')),
  },
];

/** Every row of the suite, in the matrix's order: the one list the runner and `--only` read. */
import type { Row } from '../row.js';
import { F14 } from './churn.js';
import { F1, F2 } from './cp-stop.js';
import { F15, F16 } from './dependencies.js';
import { F6, F7, F8 } from './dp-boot.js';
import { F4, F5 } from './stream-loss.js';
import { F24 } from './overload.js';
import { F17 } from './upstream-faults.js';
import { F18, F19, F20 } from './hostile-http.js';
import { F21 } from './slow-clients.js';
import { F22 } from './auth-pitfalls.js';
import { F23 } from './admin-plane.js';
import { F3 } from './black-hole.js';
import { F10, F13, F9 } from './hostile-snapshots.js';
import { F11 } from './key-rotation.js';
import { F12 } from './clock-skew.js';
import { F25 } from './replica-loss.js';
import { F26 } from './ratelimit-partition.js';
import { F27 } from './rollout.js';
import { F28 } from './key-revocation.js';

export const ROWS: readonly Row[] = [
  F1,
  F2,
  F3,
  F4,
  F5,
  F6,
  F7,
  F8,
  F9,
  F10,
  F11,
  F12,
  F13,
  F14,
  F15,
  F16,
  F17,
  F18,
  F19,
  F20,
  F21,
  F22,
  F23,
  F24,
  F25,
  F26,
  F27,
  F28,
];

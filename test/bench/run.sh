#!/usr/bin/env bash
# Runs the shared reverse-proxy harness with Gatehouse's candidate beside the peers.
#   test/bench/run.sh                     # all lines of test/bench/candidates.conf
#   ONLY='^(direct|nginx|gatehouse)$' REPS=3 WARMUP=8 DURATION=10 test/bench/run.sh
# Builds shared + data-plane first (the candidate imports data-plane/dist), runs the harness's
# setup.sh when nginx/wrk or the peers are missing, then the harness (which copies itself to
# /tmp/gatehouse-bench when its folder is read-only). Results: <harness copy>/results/<run-id>/.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH=${GATEHOUSE_BENCH_DIR:-$(cd "$ROOT/../shared/bench" && pwd)}

if [[ -z ${SKIP_BUILD:-} ]]; then
  (cd "$ROOT" && pnpm --filter @gatehouse/shared build >/dev/null && pnpm --filter @gatehouse/data-plane build >/dev/null)
fi

work=${BENCH_WORK:-${TMPDIR:-/tmp}/gatehouse-bench}
need_setup=0
command -v wrk >/dev/null 2>&1 || need_setup=1
command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || need_setup=1
[[ -d $BENCH/peers/node_modules || -d $work/peers/node_modules ]] || need_setup=1
if ((need_setup)); then
  "$BENCH/setup.sh"
fi

candidates=$(mktemp "${TMPDIR:-/tmp}/gatehouse-candidates.XXXXXX")
trap 'rm -f "$candidates"' EXIT
sed "s#@ROOT@#$ROOT#g" "$ROOT/test/bench/candidates.conf" >"$candidates"
CANDIDATES_FILE=$candidates "$BENCH/run.sh" "$@"

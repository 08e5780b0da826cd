#!/usr/bin/env bash
# Harness candidate: the real data plane process (`gatehouse dp`, primary + ONE worker, DB-less)
# serving a rendered declarative file: one service -> 127.0.0.1:$UPSTREAM_PORT, one route /echo.
# With POLICY=1 the route has key-auth (key_names x-api-key, the harness's $API_KEY as the key).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dir=${CAND_DIR:-$(mktemp -d)}
file="$dir/gatehouse.yaml"
{
  echo '_format_version: "3.0"'
  echo 'services:'
  echo '  - name: echo'
  echo "    url: http://127.0.0.1:${UPSTREAM_PORT}"
  echo '    routes:'
  echo '      - name: echo'
  echo '        paths: [/echo]'
  echo '        strip_path: false'
  if [[ ${POLICY:-0} == 1 ]]; then
    echo '        plugins:'
    echo '          - name: key-auth'
    echo '            config: { key_names: [x-api-key] }'
    echo 'consumers:'
    echo '  - username: bench'
    echo '    keyauth_credentials:'
    echo "      - key: \"${API_KEY}\""
  fi
} >"$file"
export GATEHOUSE_LOG_LEVEL=${GATEHOUSE_LOG_LEVEL:-warn}
exec "$ROOT/gatehouse" dp --config "$file" --workers 1 --data-dir "$dir/dp" \
  --listen "127.0.0.1:${PORT}" --status-listen 127.0.0.1:0

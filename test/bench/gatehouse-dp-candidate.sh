#!/usr/bin/env bash
# Harness candidate: the real data plane process (`gatehouse dp`, primary + ONE worker, DB-less)
# serving a rendered declarative file: one service -> 127.0.0.1:$UPSTREAM_PORT, one route /echo.
# PLUGINS (comma-separated) puts plugins on the route; POLICY=1 without PLUGINS means key-auth:
#   key-auth       key_names x-api-key, one consumer whose key is the harness's $API_KEY
#   jwt            header_names x-api-key, one consumer with the HS256 secret of bench-jwt.mjs (run
#                  the harness with API_KEY="Bearer $(node test/bench/bench-jwt.mjs)"; key-auth
#                  then takes that same string as its key, so every row gets the same header)
#   rate-limiting  policy local, a minute limit no run reaches (the cost of counting, never a 429)
#   rate-limiting-cluster  the same with policy cluster: a private nats-server (started here, a
#                  child of this process, so the harness counts and stops it with the DP) is the
#                  DP's --nats-url
#   proxy-cache    strategy memory, the echo response cached (every measured request is a hit)
# OBSERVE=<ratio> turns on what issue 11 measures together: the access log (a file in the
# candidate's folder) and tracing, sampled at <ratio> (0..1, parentbased_traceidratio), exported
# over OTLP/HTTP to a sink that discards it (a child of this process, so the harness counts it);
# metrics are always on. ACCESS_LOG=<path> puts the access log elsewhere (/dev/shm/…: a file no
# disk writeback follows; /dev/null), TRACE_SAMPLE=<ratio> turns tracing on alone, and
# ACCESS_LOG alone turns the log on alone.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dir=${CAND_DIR:-$(mktemp -d)}
file="$dir/gatehouse.yaml"
plugins=${PLUGINS:-}
if [[ -z $plugins && ${POLICY:-0} == 1 ]]; then plugins=key-auth; fi
has() { [[ ",$plugins," == *",$1,"* ]]; }
{
  echo '_format_version: "3.0"'
  echo 'services:'
  echo '  - name: echo'
  echo "    url: http://127.0.0.1:${UPSTREAM_PORT}"
  echo '    routes:'
  echo '      - name: echo'
  echo '        paths: [/echo]'
  echo '        strip_path: false'
  if [[ -n $plugins ]]; then
    echo '        plugins:'
    IFS=, read -ra names <<<"$plugins"
    for name in "${names[@]}"; do
      case $name in
        key-auth) echo '          - { name: key-auth, config: { key_names: [x-api-key] } }' ;;
        jwt) echo '          - { name: jwt, config: { header_names: [x-api-key] } }' ;;
        rate-limiting) echo '          - { name: rate-limiting, config: { minute: 1000000000, policy: local } }' ;;
        rate-limiting-cluster) echo '          - { name: rate-limiting, config: { minute: 1000000000, policy: cluster } }' ;;
        proxy-cache) echo '          - { name: proxy-cache, config: { strategy: memory } }' ;;
        *) echo "gatehouse-dp-candidate: unknown plugin $name" >&2 && exit 2 ;;
      esac
    done
  fi
  if has key-auth || has jwt; then
    echo 'consumers:'
    echo '  - username: bench'
  fi
  if has key-auth; then
    echo '    keyauth_credentials:'
    echo "      - key: \"${API_KEY}\""
  fi
  if has jwt; then
    echo '    jwt_secrets:'
    echo '      - { key: bench-id, secret: bench-secret, algorithm: HS256 }'
  fi
} >"$file"
nats=()
if has rate-limiting-cluster; then
  nats_port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
  "${NATS_SERVER:-/usr/sbin/nats-server}" -a 127.0.0.1 -p "$nats_port" >"$dir/nats.log" 2>&1 &
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$nats_port") 2>/dev/null && break
    sleep 0.1
  done
  nats=(--nats-url "nats://127.0.0.1:$nats_port")
fi
observe=()
if [[ -n ${OBSERVE:-} ]]; then TRACE_SAMPLE=$OBSERVE; ACCESS_LOG=${ACCESS_LOG:-$dir/access.log}; fi
if [[ -n ${TRACE_SAMPLE:-} ]]; then
  otlp_port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
  node -e "require('http').createServer((q,s)=>{q.resume();q.on('end',()=>s.end())}).listen($otlp_port,'127.0.0.1')" &
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$otlp_port") 2>/dev/null && break
    sleep 0.1
  done
  export OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="http://127.0.0.1:$otlp_port/v1/traces"
  export OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=$TRACE_SAMPLE
fi
if [[ -n ${ACCESS_LOG:-} ]]; then observe=(--access-log "$ACCESS_LOG"); fi
export GATEHOUSE_LOG_LEVEL=${GATEHOUSE_LOG_LEVEL:-warn}
exec "$ROOT/gatehouse" dp --config "$file" --workers 1 --data-dir "$dir/dp" \
  --listen "127.0.0.1:${PORT}" --status-listen 127.0.0.1:0 "${nats[@]}" "${observe[@]}"

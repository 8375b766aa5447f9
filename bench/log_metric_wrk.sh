#!/usr/bin/env bash
# log-metric capacity alone, on a fresh server and a fresh run, with the same wrk Lua script as
# bench/load_bench.py (every request a distinct point). load_bench.py measures log-metric into
# the first of 200 populated runs; this measures the store's best case, for comparison.
#
#   bench/log_metric_wrk.sh [connections=32] [warm-up seconds=5] [seconds=10]
#
# Needs the release binary (cargo build --release -p judgeflow-cli), wrk, curl and python3.
set -euo pipefail
connections=${1:-32}
warmup=${2:-5}
duration=${3:-10}
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${JUDGEFLOW_BIN:-${CARGO_TARGET_DIR:-$repo/target}/release/judgeflow}
work=$(mktemp -d /tmp/bench-log-metric-XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" server --port "$port" --backend-store-uri "sqlite:///$work/judgeflow.db" \
  --artifacts-destination "$work/artifacts" >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
url=http://127.0.0.1:$port
until curl -sf "$url/health" >/dev/null; do sleep 0.02; done
script() {
  local run
  run=$(curl -sf -X POST "$url/api/2.0/mlflow/runs/create" -H 'content-type: application/json' \
    -d '{"experiment_id":"0"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["run"]["info"]["run_id"])')
  python3 - "$repo/bench/load_bench.py" "$run" >"$work/$2.lua" <<'PY'
import json, re, sys
lua = re.search(r'LOG_METRIC_LUA = """(.*?)"""', open(sys.argv[1]).read(), re.S).group(1)
print(lua.replace("RUN_ID", json.dumps(sys.argv[2])).replace("PATH", json.dumps("/api/2.0/mlflow/runs/log-metric")))
PY
}
script warm warm
script measured measured
if [ "$warmup" -gt 0 ]; then wrk -t2 -c"$connections" -d"${warmup}s" -s "$work/warm.lua" "$url" >/dev/null; fi
wrk --latency -t2 -c"$connections" -d"${duration}s" -s "$work/measured.lua" "$url" | grep -E "Requests/sec|Non-2xx| 50%| 99%"

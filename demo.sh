#!/usr/bin/env bash
# Builds the whole workspace (server, plugins, step, CLI), starts the real server with
# ./sqlflow.toml and the local runner, and runs through the CLI:
#   demo/demo.sql   standard SQL;
#   sqlflow demo-data, then demo/ml.sql   SQLFlow's extensions: train, evaluate, predict,
#                                         explain and show models.
# On the embedded default (SQLite). SQLFLOW_DEMO_DATASOURCES="mysql://... postgres://..."
# repeats the ML part on those databases too.
set -euo pipefail
cd "$(dirname "$0")"

cargo build --workspace
bin=target/debug
state=target/demo
rm -rf "$state"
mkdir -p "$state"

# Same configuration as sqlflow.toml, with state under target/ and any free port.
export SQLFLOW_LISTEN=127.0.0.1:0
export SQLFLOW_DATA_DIR="$state"
export SQLFLOW_RUNNERS__LOCAL__WORK_DIR="$state/jobs"
"$bin/sqlflow-server" --config sqlflow.toml >"$state/server.out" 2>"$state/server.log" &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT

addr=""
for _ in $(seq 1 100); do
  addr=$(sed -n 's/^listening on //p' "$state/server.out")
  [ -n "$addr" ] && break
  kill -0 $server 2>/dev/null || { cat "$state/server.log"; exit 1; }
  sleep 0.1
done
[ -n "$addr" ] || { echo "the server did not start; see $state/server.log"; exit 1; }
sqlflow() { "$bin/sqlflow" --server "http://$addr" "$@"; }

echo "== sqlflow-server on $addr with the local runner"
echo "== demo/demo.sql (SQLite)"
sqlflow demo/demo.sql
n=0
for ds in "" ${SQLFLOW_DEMO_DATASOURCES:-}; do
  n=$((n + 1))
  echo
  echo "== sqlflow demo-data, then demo/ml.sql on ${ds:-SQLite, the server default}"
  sqlflow demo-data ${ds:+--datasource "$ds"}
  # The figures (loss curves, importance, confusion matrices, ROC) go beside the state.
  sqlflow ${ds:+--datasource "$ds"} --figures-dir "$state/figures-$n" demo/ml.sql
done

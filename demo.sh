#!/usr/bin/env bash
# Builds the whole workspace (server, plugins, step, CLI), starts the real server with
# ./sqlflow.toml and the local runner, runs demo/demo.sql through the CLI, and stops.
set -euo pipefail
cd "$(dirname "$0")"

cargo build --workspace
bin=target/debug
state=target/demo
mkdir -p "$state"

# Same configuration as sqlflow.toml, with state under target/ and any free port.
export SQLFLOW_LISTEN=127.0.0.1:0
export SQLFLOW_DATA_DIR="$state"
export SQLFLOW_RUNNERS__LOCAL__WORK_DIR="$state/jobs"
"$bin/sqlflow-server" --config sqlflow.toml >"$state/server.out" 2>"$state/server.log" &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT

for _ in $(seq 1 100); do
  addr=$(sed -n 's/^listening on //p' "$state/server.out")
  [ -n "$addr" ] && break
  kill -0 $server 2>/dev/null || { cat "$state/server.log"; exit 1; }
  sleep 0.1
done
[ -n "$addr" ] || { echo "the server did not start; see $state/server.log"; exit 1; }

echo "== sqlflow-server on $addr with the local runner; running demo/demo.sql"
"$bin/sqlflow" --server "http://$addr" demo/demo.sql

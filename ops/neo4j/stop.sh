#!/usr/bin/env bash
# Stop the test Neo4j started by ops/neo4j/start.sh (SIGTERM: the launcher shuts down cleanly).
set -uo pipefail
run="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/run"
[ -f "$run/neo4j.pid" ] || exit 0
pid="$(cat "$run/neo4j.pid")"
if kill -0 "$pid" 2>/dev/null; then
  kill -TERM "$pid"
  for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
fi
rm -f "$run/neo4j.pid"
rm -rf "$run"/data-*

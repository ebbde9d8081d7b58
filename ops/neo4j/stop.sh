#!/usr/bin/env bash
# Stop test Neo4j servers started by ops/neo4j/start.sh (SIGTERM: the launcher shuts down
# cleanly). Usage: ops/neo4j/stop.sh [PORT]   (no PORT: every one started from this checkout)
# The data folder is removed, unless AIDGRAPH_NEO4J_KEEP_DATA=1 (an initial load imports into it).
set -uo pipefail
run="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/run"
[ -d "$run" ] || exit 0
shopt -s nullglob
if [ -n "${1:-}" ]; then pidfiles=("$run/neo4j-$1.pid"); else pidfiles=("$run"/neo4j-*.pid); fi
for pidfile in "${pidfiles[@]}"; do
  [ -f "$pidfile" ] || continue
  pid="$(cat "$pidfile")"
  port="$(basename "$pidfile" .pid)"; port="${port#neo4j-}"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$pidfile"
  [ "${AIDGRAPH_NEO4J_KEEP_DATA:-}" = 1 ] || rm -rf "$run/data-$port" "$run/neo4j-$port.settings"
done

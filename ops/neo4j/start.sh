#!/usr/bin/env bash
# Build (once) and start a Neo4j Community with Bolt on 127.0.0.1 for AidGraph's tests.
# Usage: ops/neo4j/start.sh [PORT] [PASSWORD]   (default 17687, also AIDGRAPH_NEO4J_PORT; auth is
# disabled unless a PASSWORD is given). Writes ops/neo4j/run/neo4j-PORT.pid and waits until Bolt
# answers; exits non-zero if it does not.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
port="${1:-${AIDGRAPH_NEO4J_PORT:-17687}}"
password="${2:-}"
run="$here/run"
mkdir -p "$run"
pidfile="$run/neo4j-$port.pid"
logfile="$run/neo4j-$port.log"

# Rebuild only when the pom or the launcher changed since the last build.
stamp="$here/target/.built"
if [ ! -f "$stamp" ] || [ -n "$(find "$here/pom.xml" "$here/src" -newer "$stamp" -print -quit)" ]; then
  echo "building the Neo4j launcher (Maven)..."
  (cd "$here" && mvn -q -B package -DskipTests)
  touch "$stamp"
fi

if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  echo "Neo4j already running (pid $(cat "$pidfile"))"
  exit 0
fi

data="$run/data-$port"
settings="$run/neo4j-$port.settings"
# A restart on kept data (after an initial load) keeps the memory it was started with.
if [ "${AIDGRAPH_NEO4J_KEEP_DATA:-}" = 1 ] && [ -f "$settings" ]; then
  # shellcheck disable=SC1090
  . "$settings"
fi
heap="${AIDGRAPH_NEO4J_HEAP:-${saved_heap:-2g}}"
pagecache="${AIDGRAPH_NEO4J_PAGECACHE:-${saved_pagecache:-512m}}"
printf 'saved_heap=%s\nsaved_pagecache=%s\n' "$heap" "$pagecache" > "$settings"
# A fresh database each start, unless AIDGRAPH_NEO4J_KEEP_DATA=1 (a restart after a crash: Neo4j
# recovers from its transaction log).
if [ "${AIDGRAPH_NEO4J_KEEP_DATA:-}" != 1 ]; then
  rm -rf "$data"
fi
# The flags Neo4j's own start scripts pass on Java 17.
java_opts=(
  "-Xmx$heap" -XX:+UseG1GC
  --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.lang=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED
  --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
  --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.net=ALL-UNNAMED
  --add-exports=java.base/sun.nio.ch=ALL-UNNAMED -Dio.netty.tryReflectionSetAccessible=true
)
nohup java "${java_opts[@]}" -cp "$here/target/classes:$here/target/lib/*" aidgraph.ops.Neo4jLauncher \
  --port "$port" --data "$data" --pagecache "$pagecache" ${password:+--password "$password"} \
  > "$logfile" 2>&1 &
echo $! > "$pidfile"

for _ in $(seq 1 120); do
  if grep -q "aidgraph-neo4j: ready" "$logfile" 2>/dev/null; then
    echo "Neo4j ready on bolt://127.0.0.1:$port (pid $(cat "$pidfile"), log $logfile)"
    exit 0
  fi
  if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "Neo4j failed to start; last lines of $logfile:" >&2
    tail -n 30 "$logfile" >&2
    exit 1
  fi
  sleep 1
done
echo "Neo4j did not answer within 120 s; see $logfile" >&2
exit 1

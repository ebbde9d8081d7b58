#!/usr/bin/env bash
# Time and peak memory to generate, ingest and reopen a prefecture on the embedded engine.
# Usage: bash bench/foundation.sh [HOUSEHOLDS]   (default 100000). Writes under bench/results/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
n="${1:-100000}"
out="bench/results/foundation-$n"
rm -rf "$out" && mkdir -p "$out"
measure() {  # label, command...
  local label=$1; shift
  /usr/bin/time -f "$label: %e s wall, %M KB peak RSS" "$@" > "$out/$label.log" 2> "$out/$label.time" || { cat "$out/$label.time"; exit 1; }
  tail -n 1 "$out/$label.time"
}
measure generate .venv/bin/aidgraph generate --households "$n" --seed 7 --out "$out/prefecture"
measure ingest .venv/bin/aidgraph ingest "$out/prefecture" --store "$out/store"
measure open .venv/bin/aidgraph stats --store "$out/store"
echo "store size: $(du -sh "$out/store" | cut -f1)"

#!/usr/bin/env bash
# The main job on the embedded engine, from a fresh machine: install, make a demo prefecture,
# ingest it, print the stats, a sample household and the audit. `make demo` calls this.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY="${PYTHON:-$(command -v python3.11 || command -v python3)}"
HOUSEHOLDS="${HOUSEHOLDS:-2000}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e .
export AIDGRAPH_STORE="${AIDGRAPH_STORE:-demo/store}"

.venv/bin/aidgraph generate --households "$HOUSEHOLDS" --seed 7 --out demo/prefecture
.venv/bin/aidgraph ingest demo/prefecture
.venv/bin/aidgraph stats
# A household with a medical need paid by a department and a charity: a planted duplicate.
sample=$(.venv/bin/python -c "import json; t=json.load(open('demo/prefecture/truth.json', encoding='utf-8')); print(next(c['households'][0] for c in t['duplicate_aid'] if c['kind'] == 'need_paid_twice'))")
.venv/bin/aidgraph household "$sample"
.venv/bin/aidgraph audit --as-of 2026-06-30 --format table --out demo/audit.json
.venv/bin/aidgraph unmatched --as-of 2026-06-30

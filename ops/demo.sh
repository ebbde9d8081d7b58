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
# The policy engine: tiers and obligations by the default policy, and why the sample household is where it is.
.venv/bin/aidgraph evaluate --as-of 2026-06-30
.venv/bin/aidgraph explain "$sample" --as-of 2026-06-30

# The HTTP API over the same store: a caseworker key for the prefecture and an auditor key,
# then serve until Ctrl-C (SERVE=0 skips it). OpenAPI at http://127.0.0.1:8000/docs.
export AIDGRAPH_API_STATE_DIR="${AIDGRAPH_API_STATE_DIR:-demo/api}"
rm -rf "$AIDGRAPH_API_STATE_DIR"
region=$(sed -n 2p demo/prefecture/households.csv | cut -d, -f2 | cut -c1-4)
caseworker=$(.venv/bin/aidgraph keys create --name "demo caseworker" --role caseworker --region "$region" 2>/dev/null)
auditor=$(.venv/bin/aidgraph keys create --name "demo auditor" --role auditor 2>/dev/null)
echo "caseworker key (region $region): $caseworker"
echo "auditor key: $auditor"
echo "try: curl -s -H \"X-API-Key: $caseworker\" http://127.0.0.1:8000/api/v1/households/$sample/chain"
if [ "${SERVE:-1}" != "0" ]; then
  exec .venv/bin/aidgraph serve --port "${PORT:-8000}"
fi

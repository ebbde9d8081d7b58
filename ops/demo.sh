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
# The districts' service work on it: work orders, visits, evaluations, referrals (planted cases in truth.json).
.venv/bin/aidgraph plant-services demo/prefecture
.venv/bin/aidgraph stats
# A household with a medical need paid by a department and a charity: a planted duplicate.
sample=$(.venv/bin/python -c "import json; t=json.load(open('demo/prefecture/truth.json', encoding='utf-8')); print(next(c['households'][0] for c in t['duplicate_aid'] if c['kind'] == 'need_paid_twice'))")
.venv/bin/aidgraph household "$sample"
.venv/bin/aidgraph audit --as-of 2026-06-30 --format table --out demo/audit.json
.venv/bin/aidgraph unmatched --as-of 2026-06-30
# The policy engine: tiers and obligations by the default policy, and why the sample household is where it is.
.venv/bin/aidgraph evaluate --as-of 2026-06-30
.venv/bin/aidgraph explain "$sample" --as-of 2026-06-30

# The workbench and the HTTP API over the same store: a key for each of the workbench's users
# (a caseworker of the first city, an auditor, the coordinator of a charity with families waiting),
# then serve until Ctrl-C (SERVE=0 skips it). OpenAPI at http://127.0.0.1:8000/docs.
export AIDGRAPH_API_STATE_DIR="${AIDGRAPH_API_STATE_DIR:-demo/api}"
rm -rf "$AIDGRAPH_API_STATE_DIR"
region=$(sed -n 2p demo/prefecture/households.csv | cut -d, -f2 | cut -c1-4)
org=$(.venv/bin/python -c "
import datetime as dt
from graph.open import open_store
from graph.model import NodeKind
from queries.linkage import unmatched_families
with open_store('$AIDGRAPH_STORE') as s:
    print(next(r for r in sorted(n.key for n in s.iter_nodes(NodeKind.RESOURCE)) if unmatched_families(s, as_of=dt.date(2026, 6, 30), org=r)))")
caseworker=$(.venv/bin/aidgraph keys create --name "演示社工 demo caseworker" --role caseworker --region "$region" 2>/dev/null)
auditor=$(.venv/bin/aidgraph keys create --name "演示审计 demo auditor" --role auditor 2>/dev/null)
charity=$(.venv/bin/aidgraph keys create --name "演示慈善协调员 demo coordinator" --role charity --org "$org" 2>/dev/null)
port="${PORT:-8000}"
echo
echo "工作台 workbench: http://127.0.0.1:$port/workbench/  (working day 2026-06-30, the demo data's)"
echo "  社工 caseworker (region $region): $caseworker"
echo "  审计 auditor:                    $auditor"
echo "  慈善协调员 coordinator ($org):   $charity"
echo "API: curl -s -H \"X-API-Key: $caseworker\" http://127.0.0.1:$port/api/v1/households/$sample/chain"
if [ "${SERVE:-1}" != "0" ]; then
  AIDGRAPH_API_WORKBENCH_DAY="${AIDGRAPH_API_WORKBENCH_DAY:-2026-06-30}" exec .venv/bin/aidgraph serve --port "$port"
fi

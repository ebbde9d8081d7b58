#!/usr/bin/env bash
# The fast tests: tests/unit and the doctests of the packages, on the embedded engine only; no Neo4j,
# no browser, no server; the fuzz tests with 200 examples (1,000 in `make test`). `make test-fast` calls
# this; `make test` runs these and tests/e2e, on both engines.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY="${PYTHON:-$(command -v python3.11 || command -v python3)}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"
AIDGRAPH_FUZZ_EXAMPLES="${AIDGRAPH_FUZZ_EXAMPLES:-200}" AIDGRAPH_TEST_ENGINES=embedded .venv/bin/python -m pytest tests/unit graph ingest queries policy actions cli api viz "$@"

#!/usr/bin/env bash
# The whole test suite on a fresh machine: install, lint, start a real Neo4j, run pytest.
# `make test` and .ci/run call this. Under CI=true a Neo4j that does not start fails the run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY="${PYTHON:-$(command -v python3.11 || command -v python3)}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .

echo "== Chromium (the workbench's browser tests)"
# Debian's chromium and a CJK font, from Debian's packages; Playwright drives that binary (it cannot
# download a browser of its own here).
if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi wqy; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null \
    || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null; }
fi

echo "== Neo4j"
port="${AIDGRAPH_NEO4J_PORT:-17687}"
bash ops/neo4j/start.sh "$port"
trap 'bash ops/neo4j/stop.sh "$port"' EXIT

echo "== pytest"
AIDGRAPH_TEST_NEO4J_URI="bolt://127.0.0.1:$port" .venv/bin/python -m pytest "$@"

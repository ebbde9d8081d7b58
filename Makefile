# Two commands do all the set-up on a fresh machine (see README.md).
.PHONY: demo test test-fast lint clean

demo:  ## install, generate a demo prefecture, ingest it, print stats and a sample household
	bash ops/demo.sh

test:  ## install, start a real Neo4j, lint and run the whole test suite
	bash ops/test.sh

test-fast:  ## the unit tests and the doctests: no Neo4j, no browser, no server, the embedded engine only
	bash ops/test-fast.sh

lint:
	.venv/bin/ruff check .

clean:
	bash ops/neo4j/stop.sh
	rm -rf demo .pytest_cache

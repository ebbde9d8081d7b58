"""The test Neo4j started by ops/neo4j is a real Neo4j Community that answers over Bolt."""

from __future__ import annotations

import uuid

import pytest
from neo4j import GraphDatabase

pytestmark = pytest.mark.neo4j


def test_driver_connects_and_reads_back_a_write(neo4j_uri: str) -> None:
    marker = str(uuid.uuid4())
    with GraphDatabase.driver(neo4j_uri, auth=None) as driver:
        driver.execute_query("CREATE (:LauncherProbe {marker: $marker})", marker=marker)
        records, _, _ = driver.execute_query("MATCH (p:LauncherProbe {marker: $marker}) RETURN p.marker AS marker", marker=marker)
        assert [r["marker"] for r in records] == [marker]
        components, _, _ = driver.execute_query("CALL dbms.components() YIELD name, versions, edition RETURN *")
        assert components[0]["versions"][0].startswith("5.26")
        assert components[0]["edition"] == "community"
        driver.execute_query("MATCH (p:LauncherProbe) DELETE p")

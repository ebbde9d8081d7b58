"""Storage engines: ``embedded`` (networkx persisted in SQLite, the default) and ``neo4j``."""

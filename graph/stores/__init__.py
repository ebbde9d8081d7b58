"""Storage engines: ``ladybug`` (LadybugDB on disk, the default embedded engine) and ``neo4j``."""

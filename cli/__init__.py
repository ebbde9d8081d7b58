"""The ``aidgraph`` command line."""

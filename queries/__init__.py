"""The questions users ask, one module each: result model, Cypher text and networkx version side
by side. Importing this package registers them all."""

from queries import duplicate_aid, household, linkage, means_test, missed_aid, regions, search, unlinked  # noqa: F401  (importing registers the questions)

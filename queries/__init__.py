"""The questions users ask, one module each: result model, the one Cypher text both engines run,
and the function turning its records into the answer. Importing this package registers them all."""

from queries import duplicate_aid, household, linkage, means_test, missed_aid, regions, search, unlinked  # noqa: F401  (importing registers the questions)

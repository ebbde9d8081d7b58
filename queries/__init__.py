"""The questions users ask, one module each: result model, the one Cypher text both engines run,
and the function turning its records into the answer. Importing this package registers them all."""

from queries import (  # noqa: F401  (importing registers the questions)
    applications,
    duplicate_aid,
    enrolled_twice,
    household,
    linkage,
    means_facts,
    referrals,
    regions,
    search,
    shared_identifiers,
    standing,
    unlinked,
    unserved_needs,
    work_orders,
)

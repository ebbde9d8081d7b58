"""AidGraph's graph: the domain model, the store interface and the two engines behind it."""

"""AidGraph's pictures: the household explorer and report charts. Arrive with the explorer issue."""

"""AidGraph's HTTP API (FastAPI). Routes arrive with the API issue."""

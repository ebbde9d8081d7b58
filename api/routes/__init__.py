"""One router per resource (FastAPI full-stack template layout): validate, check the caller, call a query."""

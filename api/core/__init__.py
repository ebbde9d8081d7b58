"""What every route stands on: settings, callers and their keys, the audit trail, limits, errors."""

"""API plumbing shared by every app: the exception handler, schema helpers, query parameters."""

"""The JSON API under /v1 (OpenAPI at /docs)."""

"""Fixtures of the HMA-compatible API tests."""

from tests.web.api.platform_fixtures import api

__all__ = ["api"]

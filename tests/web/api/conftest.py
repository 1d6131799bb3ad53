"""Fixtures of the /v1 API tests."""

from tests.web.api.platform_fixtures import api

__all__ = ["api"]

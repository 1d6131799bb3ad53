"""The web application: JSON API (/v1), public pages, reviewer console."""

from rescind.web.app import create_app

__all__ = ["create_app"]

"""Errors a caller of the platform services can cause; the API maps each to problem+json."""

from __future__ import annotations


class PlatformError(Exception):
    """Base of the platform services' user-facing errors."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class InvalidSignalError(PlatformError):
    """A hash is malformed (wrong length, not hex, bad quality...)."""

    status = 422
    title = "Invalid request"


class UnknownBankError(PlatformError):
    """No bank has that name."""

    status = 404
    title = "Unknown bank"


class BankConflictError(PlatformError):
    """A bank with that name exists already."""

    status = 409
    title = "Bank exists"


class ContentNotFoundError(PlatformError):
    """No registered content has that id."""

    status = 404
    title = "Unknown content"


class ActionNotFoundError(PlatformError):
    """No action has that id."""

    status = 404
    title = "Unknown action"


class EntryNotFoundError(PlatformError):
    """No bank entry has that id in that bank."""

    status = 404
    title = "Unknown bank entry"


class DecodeBusyError(PlatformError):
    """Every media decode slot is taken: retry shortly (hash checks are not affected)."""

    status = 503
    title = "Busy"

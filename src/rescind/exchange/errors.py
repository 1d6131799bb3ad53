"""Errors an operator or a partner can cause in the exchange; none of them carries a hash."""

from __future__ import annotations

from rescind.platform.errors import PlatformError


class ExchangeError(PlatformError):
    """Base of the exchange's user-facing errors."""

    status = 422
    title = "Invalid exchange data"


class FormatError(ExchangeError):
    """A line of an exchange file is not valid; `line` is its 1-based number."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}", field="line")
        self.line = line


class PartnerError(ExchangeError):
    """A partner is unknown, misconfigured, or answered something we refuse."""

    status = 404
    title = "Partner problem"


class FeedRefusedError(ExchangeError):
    """A pulled page failed verification (signature, order, shape): nothing was applied.
    `http_status`: the source's HTTP status when it answered one other than 200."""

    status = 502
    title = "Feed page refused"
    http_status: int | None = None


class UnsafeUrlError(ExchangeError):
    """A partner URL points somewhere we do not contact (private, link-local, metadata...)."""

    title = "Refused partner URL"

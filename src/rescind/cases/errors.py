"""Errors a requester or reviewer can cause, as typed exceptions the web layer maps to messages."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One invalid or missing field: its path (as in the JSON API), a code and parameters."""

    field: str
    code: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)


class CaseError(Exception):
    """Base class of the errors below."""


class InvalidRequest(CaseError):
    """A removal request is missing required elements or has invalid values."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(f"{len(errors)} invalid field(s)")
        self.errors = errors


class CaseNotFound(CaseError):
    """No such case, or the secret does not match (deliberately indistinguishable)."""


class CaseClosed(CaseError):
    """The case is closed (actioned, rejected or withdrawn) and cannot take this change."""


class ClaimConflict(CaseError):
    """Another reviewer changed the assignment (or decided) since this reviewer loaded the case."""

    def __init__(self, assigned_to: str | None) -> None:
        super().__init__("the case was claimed by someone else")
        self.assigned_to = assigned_to


class InvalidDecision(CaseError):
    """A decision is missing its reason or uses an unknown outcome or reason code."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAllowed(CaseError):
    """The user's role does not allow this (e.g. an auditor deciding)."""

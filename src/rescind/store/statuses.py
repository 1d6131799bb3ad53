"""Every status-like value a row can hold, defined once (STYLE.md rule 9).

The models type their columns with these enums and the database refuses any other value (CHECK
constraints, migration 0003). Services, routes and templates compare against the members, never
against copied literals. The values are what is stored: changing one needs a migration.
"""

from __future__ import annotations

from enum import StrEnum


class RequestStatus(StrEnum):
    """Where a removal request stands. `actioned`: the removal was decided and is under way."""

    RECEIVED = "received"
    IN_REVIEW = "in_review"
    NEED_INFO = "need_info"
    ACTIONED = "actioned"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


# A case is open while the removal clock runs and a reviewer may still decide.
OPEN_REQUEST_STATUSES: tuple[RequestStatus, ...] = (
    RequestStatus.RECEIVED,
    RequestStatus.IN_REVIEW,
    RequestStatus.NEED_INFO,
)
CLOSED_REQUEST_STATUSES: tuple[RequestStatus, ...] = tuple(
    s for s in RequestStatus if s not in OPEN_REQUEST_STATUSES
)


class Channel(StrEnum):
    """How a request reached us (a regulator's notice runs on a shorter clock)."""

    PUBLIC_FORM = "public_form"
    API = "api"
    REGULATOR = "regulator"
    PARTNER = "partner"


class MinorAnswer(StrEnum):
    """The requester's answer to "was the person under 18 when the imagery was made?"."""

    YES = "yes"
    NO = "no"
    NOT_SURE = "not_sure"


class ChildSafetyFlag(StrEnum):
    """Whether a case may concern child sexual abuse material (CSAM).

    `possible`: the requester said the person was, or may have been, under 18 when the imagery
    was made. Such a case is reviewed first, on its own shorter clock, and reviewers are told
    at once. A report to NCMEC is recorded on the case (`ncmec_report_id`), not made here yet.
    """

    NONE = "none"
    POSSIBLE = "possible"


class DecisionOutcome(StrEnum):
    """What a reviewer (or an automated rule) decided on a request."""

    REMOVE = "remove"
    REJECT = "reject"
    NEED_INFO = "need_info"


class Role(StrEnum):
    """A staff member's role; requesters never have accounts."""

    ADMIN = "admin"
    REVIEWER = "reviewer"
    AUDITOR = "auditor"


class BankEntryStatus(StrEnum):
    """A banked signal: withdrawn entries stay so that withdrawals propagate to partners."""

    ACTIVE = "active"
    WITHDRAWN = "withdrawn"


class ContentState(StrEnum):
    """What Rescind knows of a registered piece of platform content."""

    LIVE = "live"
    REMOVED = "removed"
    BLOCKED = "blocked"


class ActionStatus(StrEnum):
    """An outbox action: `done` once the platform confirmed it (or an operator marked it)."""

    PENDING = "pending"
    DELIVERED = "delivered"
    DONE = "done"
    FAILED = "failed"


class JobStatus(StrEnum):
    """A durable background job."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

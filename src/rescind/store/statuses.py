"""Every status-like value a row can hold, defined once (STYLE.md rule 9).

The models type their columns with these enums and the database refuses any other value (CHECK
constraints, migration 0003). Services, routes and templates compare against the members, never
against copied literals. The values are what is stored: changing one needs a migration.
"""

from __future__ import annotations

from enum import StrEnum


class RequestStatus(StrEnum):
    """Where a removal request stands. `removal_pending`: a reviewer decided to remove, and the
    platform has not yet confirmed every action (or a lead awaits a reviewer); `removed`: the
    platform confirmed every action (`removed` or `not_found`), nothing is left pending."""

    RECEIVED = "received"
    IN_REVIEW = "in_review"
    NEED_INFO = "need_info"
    REMOVAL_PENDING = "removal_pending"
    REMOVED = "removed"
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
# The removal clock runs until the platform confirmed the removal, not until a reviewer decided.
CLOCK_RUNNING_STATUSES: tuple[RequestStatus, ...] = (
    *OPEN_REQUEST_STATUSES,
    RequestStatus.REMOVAL_PENDING,
)


class ItemStatus(StrEnum):
    """What was decided for one reported depiction.

    `remove`: actioned (actions and/or leads); `handled_outside`: the reviewer dealt with it by
    other means (with a note), because Rescind could not lead anywhere from it."""

    PENDING = "pending"
    REMOVE = "remove"
    REJECTED = "rejected"
    HANDLED_OUTSIDE = "handled_outside"


class LeadStatus(StrEnum):
    """Registry content matched by a requester's hash: nothing is actioned until confirmed."""

    UNCONFIRMED = "unconfirmed"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


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


class StopNCIIHashStatus(StrEnum):
    """A hash StopNCII.org shared with us: `withdrawn` once every case behind it is Withdrawn or
    Deleted (rescind.exchange.stopncii)."""

    ACTIVE = "active"
    WITHDRAWN = "withdrawn"


class ContentState(StrEnum):
    """What Rescind knows of a registered piece of platform content."""

    LIVE = "live"
    REMOVED = "removed"
    BLOCKED = "blocked"


class ActionStatus(StrEnum):
    """An outbox action: `delivered` once an endpoint answered 2xx, `confirmed` once the platform
    said what it did (`ActionOutcome`), `failed` when delivery gave up."""

    PENDING = "pending"
    DELIVERED = "delivered"
    CONFIRMED = "confirmed"
    FAILED = "failed"


class ActionOutcome(StrEnum):
    """What the platform reports it did with an action."""

    REMOVED = "removed"
    NOT_FOUND = "not_found"
    NOT_OURS = "not_ours"
    REFUSED = "refused"


# Outcomes after which the depiction is no longer on the platform.
GONE_OUTCOMES: tuple[ActionOutcome, ...] = (ActionOutcome.REMOVED, ActionOutcome.NOT_FOUND)


class JobStatus(StrEnum):
    """A durable background job."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class AppealKind(StrEnum):
    """Who complains (DSA Art. 20): `removal`, an uploader (through the platform) about a
    removal action; `rejection`, a requester about the rejection of their request."""

    REMOVAL = "removal"
    REJECTION = "rejection"


class AppealStatus(StrEnum):
    """An appeal waits (`open`) until a reviewer other than the original decision maker
    upholds it (the decision is reversed) or dismisses it (the decision stands)."""

    OPEN = "open"
    UPHELD = "upheld"
    DISMISSED = "dismissed"


class TiplineState(StrEnum):
    """A CyberTipline report's progress through NCMEC's API, recorded before and after each
    call so a retry never files it twice: `queued` (nothing sent), `submitting` (the report
    was being sent: NCMEC may hold it), `submitted` (NCMEC gave its report id), `finished`
    (NCMEC confirmed the finish), `needs_check` (a submit whose answer was lost: an admin
    checks with NCMEC before anything is sent again), `failed` (NCMEC refused the report)."""

    QUEUED = "queued"
    SUBMITTING = "submitting"
    SUBMITTED = "submitted"
    FINISHED = "finished"
    NEEDS_CHECK = "needs_check"
    FAILED = "failed"

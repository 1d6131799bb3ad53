"""Request and response bodies of the platform API (the shapes of DESIGN.md's contract)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

# Times are sent as Python's `isoformat()` (e.g. `2025-01-31T12:00:00+00:00`); kept as text so
# the documented model re-serializes exactly what the route built.
IsoTime = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


class PdqIn(BaseModel):
    """A PDQ hash with what the caller knows of it."""

    hash: str = Field(description="64 hex characters.")
    quality: int | None = Field(None, description="PDQ quality 0-100, when known.")
    t: float | None = Field(
        None, ge=0, allow_inf_nan=False, description="Seconds into the video, for a frame hash."
    )


PdqList = list[str | PdqIn]
# 36,000 vPDQ lines (rescind.platform.signals.MAX_FRAMES) of at most ~90 characters each.
VPDQ_TEXT_LIMIT = 36_000 * 96


class SignalsIn(BaseModel):
    """Hashes of one content item, computed by the platform."""

    pdq: PdqList | None = Field(None, description="PDQ hashes (64 hex each), up to 64.")
    md5: str | None = Field(None, description="MD5 of the file (32 hex).")
    sha256: str | None = Field(None, description="SHA-256 of the file (64 hex).")
    video_pdq: PdqList | None = Field(
        None, description="Video frame hashes (about one per second), `{hash, t}` or hex."
    )
    vpdq: str | None = Field(
        None,
        max_length=VPDQ_TEXT_LIMIT,
        description="The same frames as Meta vPDQ's text lines `frame,quality,hash,timestamp` "
        "(one per line); instead of video_pdq.",
    )


class CheckIn(SignalsIn):
    """`POST /v1/check` JSON body."""

    content_id: str = Field(min_length=1, max_length=255, description="The platform's id.")
    url: str | None = Field(None, max_length=2048, description="Where the content is served.")


class MatchOut(BaseModel):
    """A bank matched, and the case behind the entry when there is one. Never a distance."""

    model_config = ConfigDict(json_schema_extra={"example": {"bank": "ncii"}})

    bank: str
    case_number: str | None = None


class CheckOut(BaseModel):
    """`POST /v1/check` answer."""

    content_id: str
    verdict: str = Field(description="allow, review or block.")
    matches: list[MatchOut]


class ContentIn(SignalsIn):
    """One item to register."""

    content_id: str = Field(min_length=1, max_length=255)
    url: str | None = Field(None, max_length=2048)


class ContentBatchIn(BaseModel):
    """`POST /v1/content` body: up to 1,000 items per call."""

    items: list[ContentIn] = Field(min_length=1, max_length=1000)


class ContentBatchOut(BaseModel):
    """How many items were registered."""

    registered: int


class RedressOut(BaseModel):
    """A way the uploader can contest the decision."""

    kind: str = Field(description="internal_complaint, out_of_court or court.")
    description: str


class StatementOut(BaseModel):
    """The statement of reasons (DSA Art. 17) to give the uploader with this action."""

    restriction: str = Field(description="removal or restore.")
    facts: str = Field(description="The facts and circumstances relied on (no personal data).")
    source: str = Field(
        description="notice (the content was named in a notice) or own_initiative (found by "
        "matching against reported imagery)."
    )
    automated_detection: bool = Field(description="Automated means found the content.")
    automated_decision: str = Field(description="fully, partially or not_automated.")
    legal_ground: str = Field(description="The law relied on (the TAKE IT DOWN Act).")
    terms_ground: str = Field(description="The contractual ground (the platform's terms).")
    terms_url: str | None = Field(description="`RESCIND_TERMS_URL`, when set.")
    redress: list[RedressOut]
    decided_at: IsoTime | None = Field(description="When the removal was decided.")


class ActionOut(BaseModel):
    """An action in the outbox: it names registered content (`content_id`), or only the `url`
    a requester gave for content never registered (the platform resolves it)."""

    id: int
    type: str
    content_id: str | None
    url: str | None
    case_number: str | None
    idempotency_key: str
    status: str = Field(description="pending, delivered, confirmed or failed.")
    outcome: str | None = Field(description="removed, not_found, not_ours or refused.")
    attempts: int
    created_at: str
    delivered_at: str | None
    confirmed_at: str | None
    statement_of_reasons: StatementOut


class ActionDoneIn(BaseModel):
    """`POST /v1/actions/{id}/done` body: what the platform did."""

    outcome: Literal["removed", "not_found", "not_ours", "refused"] = Field(
        "removed", description="removed, not_found, not_ours or refused."
    )
    note: str | None = Field(None, max_length=1000)


class BankIn(BaseModel):
    """`POST /v1/banks` body."""

    name: str = Field(min_length=1, max_length=120, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    kind: str = Field("ncii", description="ncii or allow.")
    pdq_threshold: int = Field(31, ge=0, le=128)
    on_match: str = Field("block", description="block or review.")


class BankPatch(BaseModel):
    """`PATCH /v1/banks/{name}` body."""

    pdq_threshold: int | None = Field(None, ge=0, le=128)
    on_match: str | None = None
    enabled: bool | None = None


class BankOut(BaseModel):
    """A bank and its policy."""

    name: str
    kind: str
    pdq_threshold: int
    on_match: str
    enabled: bool
    active_entries: int


class EntriesIn(SignalsIn):
    """`POST /v1/banks/{name}/entries` body: the signals of one item to bank."""

    note: str | None = Field(None, max_length=500)


class EntriesOut(BaseModel):
    """Ids of the entries created."""

    entry_ids: list[int]


class RequestCreatedOut(BaseModel):
    """`POST /v1/requests` answer."""

    case_number: str
    secret: str = Field(description="Shown once: the requester's key to the case status page.")
    status: str = Field(description="`received`.")
    deadline_at: IsoTime = Field(description="When the removal is due (received + 48 h).")


class CaseItemOut(BaseModel):
    """One reported depiction, what was decided for it and where it stands."""

    id: int
    url: str | None
    content_id: str | None
    pdq: list[str]
    md5: str | None
    sha256: str | None
    status: str = Field(description="pending, remove, rejected or handled_outside.")
    state: str = Field(
        description="awaiting_review, removal_pending, searching, removed, not_found, "
        "came_back, handled_outside, not_removed, withdrawn or restored (a reviewer put it back)."
    )
    note: str | None


class CaseDecisionOut(BaseModel):
    """A decision on the case."""

    outcome: str
    reason_code: str | None
    reply_code: str | None = Field(
        description="The canned reply the requester read in their language, if any."
    )
    automated: bool
    reviewer_id: int | None
    at: IsoTime


class CaseCopyOut(BaseModel):
    """Registered content found to depict the case's media (a copy)."""

    content_id: str
    url: str | None
    state: str
    distance: int
    found_by: str


class CaseActionOut(BaseModel):
    """An action taken for the case."""

    id: int
    type: str
    item_id: int | None
    content_id: str | None
    url: str | None
    status: str
    outcome: str | None
    attempts: int
    delivered_at: IsoTime | None
    confirmed_at: IsoTime | None
    statement_of_reasons: StatementOut


class CaseLeadOut(BaseModel):
    """Registered content matched by the requester's hashes: actioned only once confirmed."""

    id: int
    item_id: int
    content_id: str
    url: str | None
    status: str = Field(description="unconfirmed, confirmed or dismissed.")


class ItemPlanOut(BaseModel):
    """What removing one item would do now."""

    item_id: int
    actions: list[str] = Field(description="Content ids, or URLs the platform must resolve.")
    leads: list[str] = Field(description="Registered content its hashes match: for review.")
    nothing: bool = Field(description="True: it leads nowhere and cannot be removed.")


class CasePlanOut(BaseModel):
    """`GET /v1/requests/{case}/plan`: per item, what a "remove" decision would do."""

    items: list[ItemPlanOut]
    actions: int
    leads: int
    nothing: list[int] = Field(description="Ids of items that would produce nothing.")


class CaseSummaryOut(BaseModel):
    """A case in a list."""

    case_number: str
    status: str
    channel: str
    received_at: IsoTime
    deadline_at: IsoTime
    removed_at: IsoTime | None
    updated_at: IsoTime
    overdue: bool
    needs_review: bool


class CaseListOut(BaseModel):
    """`GET /v1/requests`: a page of cases, most recently updated last; `next` is the cursor of
    the next page (null on the last)."""

    items: list[CaseSummaryOut]
    next: str | None


class CaseOut(BaseModel):
    """The API's view of a case: no contact details."""

    case_number: str
    status: str
    channel: str
    language: str
    representative: bool
    share_consent: bool = Field(
        False, description="The person agreed to share the case's hashes with StopNCII.org."
    )
    received_at: IsoTime
    deadline_at: IsoTime
    closed_at: IsoTime | None
    removed_at: IsoTime | None = Field(description="When the platform confirmed the removal.")
    needs_review: bool = Field(description="A removal came back: a reviewer must look again.")
    child_safety: str = Field(
        description="`possible`: the person may have been under 18 when the imagery was made "
        "(possible child sexual abuse material: reviewed first, on a shorter clock); else `none`."
    )
    minor_answer: str | None = Field(
        description="The requester's answer to the under-18 question: yes, no, not_sure or null."
    )
    overdue: bool
    risk_level: int = Field(description="0 on time, 1 past 24 h, 2 past 40 h.")
    items: list[CaseItemOut]
    decisions: list[CaseDecisionOut]
    copies: list[CaseCopyOut]
    actions: list[CaseActionOut]
    leads: list[CaseLeadOut]


class AppealIn(BaseModel):
    """`POST /v1/appeals` body: the uploader's complaint against a removal, sent by the
    platform."""

    action_id: int = Field(
        ge=1, le=2**63 - 1, description="The removal action (`content.remove`) appealed."
    )
    statement: str = Field(
        max_length=5000, description="The uploader's statement, in their words (required)."
    )


class AppealOut(BaseModel):
    """An appeal and where it stands."""

    id: int
    kind: str = Field(description="removal (an uploader's) or rejection (a requester's).")
    status: str = Field(description="open, upheld (the decision is reversed) or dismissed.")
    action_id: int | None
    case_number: str | None
    filed_at: IsoTime
    decided_at: IsoTime | None
    reason: str | None = Field(description="Why the reviewer upheld or dismissed it.")
    restore_action_ids: list[int] = Field(
        description="The `content.restore` actions an upheld appeal sent, to confirm like "
        "removals (`POST /v1/actions/{id}/done`)."
    )

"""The hash exchange under `/v1/exchange` (docs/exchange.md): the signed feed partners pull and
the verdicts they send back (scope `exchange`), and those verdicts for our reviewers (`review`).

Which banks a key reads is configured per key (`rescind exchange grant KEY --banks ...`); a key
with no grant reads nothing. Hashes leave only in the feed's body, never in logs or errors."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from rescind.exchange.feed import MAX_COLUMNS_PAGE, MAX_PAGE, SIGNATURE_HEADER, build_page
from rescind.exchange.feedback import list_feedback, record_feedback
from rescind.exchange.identity import load_identity
from rescind.exchange.partners import granted_bank_ids
from rescind.platform.errors import PlatformError
from rescind.security import audit
from rescind.web.api.auth import ExchangeCaller, ReviewCaller
from rescind.web.api.common import problem
from rescind.web.api.openapi import api_doc
from rescind.web.deps import ROW_ID_MAX, SessionDep, get_settings

router = APIRouter(prefix="/v1/exchange", tags=["exchange"])


class FeedPageOut(BaseModel):
    """A signed feed page (signature in the `Rescind-Exchange-Signature` header)."""

    format: str = Field(description="`rescind-feed/1` (or `/2`, `/3` when asked: see `columns`).")
    instance: str = Field(description="The source instance id (digest of its public key).")
    after: int = Field(description="The cursor this page starts after.")
    next: int = Field(description="The cursor to ask for next.")
    more: bool = Field(description="Whether more changes wait after `next`.")
    entries: list[dict[str, Any]] = Field(
        default_factory=list, description="Exchange-format entries (docs/exchange.md)."
    )
    columns: dict[str, list[Any]] | None = Field(
        None,
        description="`rescind-feed/2` (`format=2`): the same entries as columns, instead; "
        "`rescind-feed/3` (`format=3`) adds the column `smooth` (a smooth picture's entry). "
        "Formats 1 and 2 show a smooth picture's entry withdrawn.",
    )


class FeedbackIn(BaseModel):
    """A partner reviewer's verdict on one of our shared entries."""

    entry_id: str = Field(min_length=1, max_length=64, description="The entry's feed `id`.")
    verdict: str = Field(pattern="^(ncii|not_ncii)$", description="`ncii` or `not_ncii`.")
    note: str | None = Field(None, max_length=500, description="Why, without personal data.")


class FeedbackOut(BaseModel):
    """A stored verdict."""

    id: int
    entry_id: int
    bank: str
    verdict: str
    note: str | None
    partner: str = Field(description="The name of the API key that sent it.")
    at: str


@router.get(
    "/feed",
    response_model=FeedPageOut,
    summary="Pull the signed feed",
    **api_doc("exchange", 422),
)
def feed(
    request: Request,
    session: SessionDep,
    caller: ExchangeCaller,
    after: Annotated[int, Query(ge=0, le=ROW_ID_MAX)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_COLUMNS_PAGE)] = MAX_PAGE,
    banks: Annotated[str | None, Query(max_length=1000)] = None,
    version: Annotated[int, Query(alias="format", ge=1, le=3)] = 1,
) -> Response:
    """Changes after cursor `after` in the banks granted to this key (optionally only the
    comma-separated `banks`), withdrawals included; signed with Ed25519 over the body.
    `format=2` lists the entries as columns (`rescind-feed/2`, up to 25,000 a page; objects:
    up to 10,000), `format=3` as columns with `smooth` (`rescind-feed/3`): a smooth
    picture's entry (a gradient) says so there, and is shown withdrawn in the others."""
    settings = get_settings(request)
    granted = granted_bank_ids(session, caller.key_id)
    if banks:
        wanted = {b.strip() for b in banks.split(",")}
        granted = {i: n for i, n in granted.items() if n in wanted}
    page = build_page(
        session,
        settings,
        load_identity(settings),
        granted,
        after=after,
        limit=limit,
        version=version,
    )
    if page.entries:
        audit.record(
            session, caller.actor, "exchange.feed_served", subject_type="api_key",
            subject_id=caller.key_id, detail={"after": after, "entries": page.entries},
        )  # fmt: skip
    return Response(
        page.body, media_type="application/json", headers={SIGNATURE_HEADER: page.signature}
    )


@router.post(
    "/feedback",
    response_model=FeedbackOut,
    status_code=201,
    summary="Send a verdict on a shared entry",
    **api_doc("exchange", 404, 422),
)
def feedback(body: FeedbackIn, session: SessionDep, caller: ExchangeCaller) -> FeedbackOut:
    """A partner's reviewer found a match on our entry to be NCII or not."""
    granted = granted_bank_ids(session, caller.key_id)
    try:
        row = record_feedback(
            session, caller.key_id, granted, body.entry_id, body.verdict, body.note
        )
    except PlatformError as exc:
        raise problem(exc) from None
    view = list_feedback(session, after_id=row.id - 1, limit=1)[0]
    return FeedbackOut(**{**view.__dict__, "at": view.at.isoformat()})


@router.get(
    "/feedback",
    response_model=list[FeedbackOut],
    summary="Partners' verdicts on our entries",
    **api_doc("review", 422),
)
def feedback_list(
    session: SessionDep,
    caller: ReviewCaller,
    after_id: Annotated[int, Query(ge=0, le=ROW_ID_MAX)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[FeedbackOut]:
    """Verdicts partners sent on the entries we shared, in arrival order."""
    return [
        FeedbackOut(**{**v.__dict__, "at": v.at.isoformat()})
        for v in list_feedback(session, after_id=after_id, limit=limit)
    ]

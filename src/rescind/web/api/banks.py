"""Bank administration under `/v1/banks` (scope `review`): policies, and entries such as
allow-list ("not NCII") verdicts or hashes imported by hand."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rescind.platform.apikeys import ApiPrincipal
from rescind.platform.banks import (
    add_signals,
    create_bank,
    get_bank,
    list_banks,
    update_bank,
    withdraw_entries,
)
from rescind.platform.errors import EntryNotFoundError, InvalidSignalError, PlatformError
from rescind.platform.media_signals import MediaError
from rescind.platform.signals import Signals
from rescind.security import audit
from rescind.store.models import Bank, BankEntry
from rescind.store.statuses import BankEntryStatus
from rescind.web.api.auth import ReviewCaller
from rescind.web.api.common import (
    JSON_BODY_LIMIT,
    is_multipart,
    media_problem,
    problem,
    read_json,
    read_media_form,
    signals_of,
)
from rescind.web.api.openapi import api_doc, media_form, schema_ref
from rescind.web.api.schemas import BankIn, BankOut, BankPatch, EntriesIn, EntriesOut
from rescind.web.deps import RowId, SessionDep, get_db, get_settings, services_of

router = APIRouter(prefix="/v1/banks", tags=["banks"])


def _out(session: Session, bank: Bank) -> BankOut:
    active = session.scalar(
        select(func.count())
        .select_from(BankEntry)
        .where(BankEntry.bank_id == bank.id, BankEntry.status == BankEntryStatus.ACTIVE)
    )
    return BankOut(
        name=bank.name,
        kind=bank.kind,
        pdq_threshold=bank.pdq_threshold,
        on_match=bank.on_match,
        enabled=bank.enabled,
        active_entries=active or 0,
    )


@router.get("", response_model=list[BankOut], summary="List banks", **api_doc("review"))
def banks(session: SessionDep, caller: ReviewCaller) -> list[BankOut]:
    """Every bank with its policy."""
    return [_out(session, b) for b in list_banks(session)]


@router.post(
    "",
    response_model=BankOut,
    status_code=201,
    summary="Create a bank",
    **api_doc("review", 409, 422),
)
def create(body: BankIn, session: SessionDep, caller: ReviewCaller) -> BankOut:
    """A new bank (kind `ncii` or `allow`) with its threshold and action on match."""
    try:
        bank = create_bank(
            session, body.name, kind=body.kind, threshold=body.pdq_threshold, on_match=body.on_match
        )
    except PlatformError as exc:
        raise problem(exc) from None
    audit.record(session, caller.actor, "bank.created", subject_type="bank", subject_id=bank.id)
    return _out(session, bank)


@router.patch(
    "/{name}",
    response_model=BankOut,
    summary="Change a bank's policy",
    **api_doc("review", 404, 422),
)
def patch(name: str, body: BankPatch, session: SessionDep, caller: ReviewCaller) -> BankOut:
    """Threshold, action on match, enabled; effective on every server within seconds."""
    try:
        bank = update_bank(
            session,
            name,
            threshold=body.pdq_threshold,
            on_match=body.on_match,
            enabled=body.enabled,
        )
    except PlatformError as exc:
        raise problem(exc) from None
    audit.record(
        session,
        caller.actor,
        "bank.policy_changed",
        subject_type="bank",
        subject_id=bank.id,
        detail=body.model_dump(exclude_none=True),
    )
    return _out(session, bank)


_ENTRIES_BODY = {
    "application/json": {"schema": schema_ref(EntriesIn)},
    "multipart/form-data": media_form(
        {"note": {"type": "string", "maxLength": 500}}, required=["media"]
    ),
}


@router.post(
    "/{name}/entries",
    response_model=EntriesOut,
    status_code=201,
    summary="Add entries",
    **api_doc("review", 404, 413, 422, body=_ENTRIES_BODY),
)
async def add_entries(request: Request, name: str, caller: ReviewCaller) -> EntriesOut:
    """Bank the signals of one item: hashes (JSON), or the image or video itself (multipart
    `media`, hashed here and not kept). A banked image also stores its copy-robust views:
    trimmed borders, crops and slight tilts, so cropped and framed re-uploads match too."""
    settings = get_settings(request)
    if is_multipart(request):
        _, data = await read_media_form(request, settings.max_upload_bytes)
        try:
            signals = await run_in_threadpool(
                services_of(request.app).runtime.hash_media, data, bank=True
            )
        except MediaError as exc:
            raise media_problem(exc) from None
        except PlatformError as exc:  # every decode slot taken: 503
            raise problem(exc) from None
    else:
        body: EntriesIn = await read_json(request, EntriesIn, JSON_BODY_LIMIT)
        try:
            signals = signals_of(body)
        except PlatformError as exc:
            raise problem(exc) from None
    return await run_in_threadpool(_bank_signals, request, name, signals, caller)


def _bank_signals(
    request: Request, name: str, signals: Signals, caller: ApiPrincipal
) -> EntriesOut:
    with get_db(request).session() as session:
        try:
            bank = get_bank(session, name)
            if signals.empty:
                raise InvalidSignalError(
                    "send at least one of pdq, md5, sha256, video_pdq, vpdq", field="pdq"
                )
        except PlatformError as exc:
            raise problem(exc) from None
        entries = add_signals(
            session, bank, signals, source="reviewer", provenance={"by": caller.actor}
        )
        audit.record(
            session,
            caller.actor,
            "bank.entries_added",
            subject_type="bank",
            subject_id=bank.id,
            detail={"entries": len(entries)},
        )
        return EntriesOut(entry_ids=[e.id for e in entries])


@router.delete(
    "/{name}/entries/{entry_id}",
    status_code=204,
    summary="Withdraw an entry",
    **api_doc("review", 404, 422),
)
def withdraw(name: str, entry_id: RowId, session: SessionDep, caller: ReviewCaller) -> Response:
    """Withdraw an entry; it stops matching on every server within seconds."""
    try:
        bank = get_bank(session, name)
        entry = session.get(BankEntry, entry_id)
        if entry is None or entry.bank_id != bank.id:
            raise EntryNotFoundError(f"no entry {entry_id} in bank {name!r}", field="entry_id")
    except PlatformError as exc:
        raise problem(exc) from None
    withdraw_entries(session, [entry])
    audit.record(
        session,
        caller.actor,
        "bank.entry_withdrawn",
        subject_type="bank_entry",
        subject_id=entry.id,
    )
    return Response(status_code=204)

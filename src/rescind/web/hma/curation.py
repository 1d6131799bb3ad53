"""HMA's bank routes: `/c/banks`, `/c/bank/{name}`, and a bank's content (add by file or by
hashes, read, disable, remove). Every read and write is audited; hashes are never logged."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from rescind.exchange.hma import (
    BankedItem,
    bank_config,
    bank_item,
    check_note,
    create_hma_bank,
    get_item,
    resolve_bank,
    set_note,
    signal_values,
    signals_of_mapping,
    withdraw_item,
)
from rescind.platform.apikeys import ApiPrincipal
from rescind.platform.banks import list_banks, update_bank
from rescind.platform.media_signals import MediaError
from rescind.platform.signals import Signals
from rescind.security import audit
from rescind.store.models import Bank
from rescind.web.deps import SessionDep, get_db, services_of
from rescind.web.hma.common import (
    NO_URL,
    HmaError,
    ReviewCaller,
    hma_doc,
    hma_errors,
    read_json_object,
    read_upload,
)

router = APIRouter(prefix="/c")
_VIA = {"via": "hma"}


def _bank(session: Session, name: str) -> Bank:
    with hma_errors():
        return resolve_bank(session, name)


def _check_bank(request: Request, name: str) -> None:
    with get_db(request).session() as session:
        _bank(session, name)


def _content_id(raw: str) -> int:
    # HMA's route takes an integer id: anything else names no content.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise HmaError(404, f"content '{raw}' not found")
    return int(raw)


def _item(session: Session, bank: Bank, raw_id: str) -> BankedItem:
    with hma_errors():
        return get_item(session, bank, _content_id(raw_id))


def _audit(
    session: Session, caller: ApiPrincipal, action: str, bank: Bank, **detail: object
) -> None:
    """Audit an access to `bank` through the HMA routes (`detail`: item ids, never hashes)."""
    audit.record(
        session,
        caller.actor,
        action,
        subject_type="bank",
        subject_id=bank.id,
        detail={**_VIA, **detail},
    )


@router.get("/banks", **hma_doc("review", "List banks (HMA)"))
def banks_index(session: SessionDep, caller: ReviewCaller) -> list[dict[str, Any]]:
    """Every bank as HMA describes one: `{"name", "matching_enabled_ratio"}`."""
    banks = list_banks(session)
    audit.record(session, caller.actor, "bank.listed", detail=_VIA)
    return [bank_config(b) for b in banks]


@router.post("/banks", status_code=201, **hma_doc("review", "Create a bank (HMA)"))
async def bank_create(request: Request, caller: ReviewCaller) -> JSONResponse:
    """A new bank: `{"name": "UPPER_SNAKE", "enabled_ratio"?: 0|1, "enabled"?: bool}`;
    403 if the name is taken."""
    body = await read_json_object(request)
    return await run_in_threadpool(_create, request, body, caller)


def _create(request: Request, body: dict[str, Any], caller: ApiPrincipal) -> JSONResponse:
    settings = services_of(request.app).settings
    with get_db(request).session() as session:
        with hma_errors():
            bank = create_hma_bank(
                session,
                settings,
                body.get("name"),
                enabled_ratio=body.get("enabled_ratio"),
                enabled=body.get("enabled"),
            )
        _audit(session, caller, "bank.created", bank)
        return JSONResponse(bank_config(bank), status_code=201)


@router.get("/bank/{bank_name}", **hma_doc("review", "Get a bank (HMA)"))
def bank_show(bank_name: str, session: SessionDep, caller: ReviewCaller) -> dict[str, Any]:
    """One bank's configuration (404 if no bank has that name)."""
    bank = _bank(session, bank_name)
    audit.record(session, caller.actor, "bank.read", subject_type="bank", subject_id=bank.id)
    return bank_config(bank)


@router.put("/bank/{bank_name}", **hma_doc("review", "Enable or disable a bank (HMA)"))
async def bank_update(request: Request, bank_name: str, caller: ReviewCaller) -> dict[str, Any]:
    """`{"enabled": bool}` or `{"enabled_ratio": 0|1}`; renaming is not served."""
    body = await read_json_object(request)
    if body.get("name") is not None:
        raise HmaError(400, "Rescind does not rename banks")
    return await run_in_threadpool(_update, request, bank_name, body, caller)


def _update(
    request: Request, bank_name: str, body: dict[str, Any], caller: ApiPrincipal
) -> dict[str, Any]:
    enabled, ratio = body.get("enabled"), body.get("enabled_ratio")
    with get_db(request).session() as session:
        bank = _bank(session, bank_name)
        if enabled is not None or ratio is not None:
            if enabled is not None and not isinstance(enabled, bool):
                raise HmaError(400, "enabled must be true or false")
            if ratio is not None and (isinstance(ratio, bool) or ratio not in (0, 1)):
                raise HmaError(
                    400, "Rescind matches a bank always or never: enabled_ratio must be 0 or 1"
                )
            on = bool(ratio) if ratio is not None else bool(enabled)
            update_bank(session, bank.name, enabled=on)
            _audit(session, caller, "bank.policy_changed", bank, enabled=on)
        return bank_config(bank)


@router.delete("/bank/{bank_name}", **hma_doc("review", "Delete a bank (HMA): not served"))
def bank_delete(bank_name: str, caller: ReviewCaller) -> dict[str, Any]:
    """Not served: a bank's withdrawals must reach partners, so banks are never deleted
    (disable it, or remove its content)."""
    raise HmaError(
        405, "Rescind does not delete banks: disable the bank or remove its content instead"
    )


def _metadata(raw: object) -> dict[str, Any] | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise HmaError(400, "metadata form field must be valid JSON") from None
    if not isinstance(raw, dict):
        raise HmaError(400, "metadata should be a json object")
    allowed = {"content_id", "content_uri", "json"}
    if set(raw) - allowed - {"collab"}:
        raise HmaError(400, f"Invalid metadata: only {', '.join(sorted(allowed))} are taken")
    return {k: v for k, v in raw.items() if k in allowed and v is not None} or None


@router.post("/bank/{bank_name}/content", **hma_doc("review", "Add a file to a bank (HMA)"))
async def bank_add_content(
    request: Request, bank_name: str, caller: ReviewCaller
) -> dict[str, Any]:
    """Bank an uploaded file (multipart, field `photo` or `video`; optional `note` and
    `metadata` fields): hashed here (with a picture's turned and cropped views) and not kept.
    Answers `{"id", "signals"}`."""
    if request.query_params.get("url"):
        raise HmaError(400, NO_URL)
    settings = services_of(request.app).settings
    upload = await read_upload(request, settings.max_upload_bytes)
    with hma_errors():
        note = check_note(upload.fields.get("note"))
    metadata = _metadata(upload.fields.get("metadata"))
    await run_in_threadpool(_check_bank, request, bank_name)  # 404 before hashing
    with hma_errors():  # every decode slot or the memory budget taken: 503
        try:
            signals = await run_in_threadpool(
                services_of(request.app).runtime.hash_media, upload.data, bank=True
            )
        except MediaError as exc:
            raise HmaError(400, f"the file cannot be hashed: {exc}") from None
    return await run_in_threadpool(
        _add, request, bank_name, signals, caller, note, metadata, signals.kind == "video"
    )


@router.post("/bank/{bank_name}/signal", **hma_doc("review", "Add hashes to a bank (HMA)"))
async def bank_add_signals(
    request: Request, bank_name: str, caller: ReviewCaller
) -> dict[str, Any]:
    """Bank one item by its hashes: `{"pdq": "<64 hex>", "video_md5"?: "<32 hex>",
    "note"?}`. Answers `{"id", "signals"}`."""
    body = await read_json_object(request)
    with hma_errors():
        note = check_note(body.pop("note", None))
        signals = signals_of_mapping(body)
    return await run_in_threadpool(_add, request, bank_name, signals, caller, note, None, None)


def _add(
    request: Request,
    bank_name: str,
    signals: Signals,
    caller: ApiPrincipal,
    note: str | None,
    metadata: dict[str, Any] | None,
    video: bool | None,
) -> dict[str, Any]:
    # `video`: whether an uploaded file was a video; None for hashes given (echoed back).
    with get_db(request).session() as session:
        bank = _bank(session, bank_name)
        with hma_errors():
            content_id = bank_item(
                session, bank, signals, actor=caller.actor, note=note, metadata=metadata
            )
        _audit(session, caller, "bank.entries_added", bank, item=content_id)
        if video is None:
            shown = {"pdq": signals.pdq[0].hash} if signals.pdq else {}
            shown.update({"video_md5": signals.md5} if signals.md5 else {})
        else:
            shown = signal_values(signals, video=video)
        return {"id": content_id, "signals": shown}


def _content(bank: Bank, item: BankedItem) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": item.id,
        "disable_until_ts": 1 if item.active else 0,
        "original_media_uri": None,
        "bank": bank_config(bank),
    }
    if item.metadata:
        out["metadata"] = item.metadata
    if item.note:
        out["note"] = item.note
    return out


@router.get(
    "/bank/{bank_name}/content/{content_id}", **hma_doc("review", "Get banked content (HMA)")
)
def bank_get_content(
    bank_name: str, content_id: str, session: SessionDep, caller: ReviewCaller
) -> dict[str, Any]:
    """One banked item: id, whether it matches (`disable_until_ts` 1, or 0 once removed), its
    bank, note and metadata. Its hashes are not served."""
    bank = _bank(session, bank_name)
    item = _item(session, bank, content_id)
    _audit(session, caller, "bank.item_read", bank, item=item.id)
    return _content(bank, item)


@router.put(
    "/bank/{bank_name}/content/{content_id}",
    **hma_doc("review", "Disable banked content or change its note (HMA)"),
)
async def bank_update_content(
    request: Request, bank_name: str, content_id: str, caller: ReviewCaller
) -> dict[str, Any]:
    """`{"disable_until_ts": 0}` removes the item for good (as `DELETE`); `1` keeps an active
    item; a later time (a temporary disable) is not served. `{"note"}` replaces its note."""
    body = await read_json_object(request)
    disable = body.get("disable_until_ts")
    if disable is not None and (isinstance(disable, bool) or disable not in (0, 1)):
        raise HmaError(
            400, "Rescind does not disable content for a time: disable_until_ts must be 0 or 1"
        )
    with hma_errors():
        note = check_note(body.get("note"))
    return await run_in_threadpool(
        _update_content, request, bank_name, content_id, caller, disable, "note" in body, note
    )


def _update_content(
    request: Request,
    bank_name: str,
    content_id: str,
    caller: ApiPrincipal,
    disable: object,
    change_note: bool,
    note: str | None,
) -> dict[str, Any]:
    with get_db(request).session() as session:
        bank = _bank(session, bank_name)
        item = _item(session, bank, content_id)
        if disable == 1 and not item.active:
            raise HmaError(400, "removed content is not banked again: add it anew")
        if disable == 0 and withdraw_item(session, item):
            _audit(session, caller, "bank.item_withdrawn", bank, item=item.id)
        if change_note:
            set_note(item, note)
            _audit(session, caller, "bank.item_changed", bank, item=item.id)
        session.flush()
        return _content(bank, get_item(session, bank, item.id))


@router.delete(
    "/bank/{bank_name}/content/{content_id}", **hma_doc("review", "Remove banked content (HMA)")
)
def bank_delete_content(
    bank_name: str, content_id: str, session: SessionDep, caller: ReviewCaller
) -> dict[str, int]:
    """Withdraw every entry of the item (it stops matching on every server within seconds,
    and partners are told): `{"deleted": 1}`, or 0 if it was removed already or is not in
    the bank (as HMA answers)."""
    bank = _bank(session, bank_name)
    try:
        item = _item(session, bank, content_id)
    except HmaError as exc:
        if exc.status != 404:
            raise
        return {"deleted": 0}
    deleted = withdraw_item(session, item)
    _audit(session, caller, "bank.item_withdrawn", bank, item=item.id, deleted=deleted)
    return {"deleted": deleted}

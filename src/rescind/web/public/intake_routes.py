"""`/`: the plain-language notice and the removal request form; the confirmation page."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from rescind.cases.errors import FieldError, InvalidRequest
from rescind.cases.intake import case_for_form_token, submit_request
from rescind.cases.validation import MAX_ITEMS, MAX_PDQ_PER_ITEM, MAX_VIEWS_PER_ITEM
from rescind.config import Settings
from rescind.store import Database
from rescind.store.models import Request as Case
from rescind.web.deps import DatabaseDep, SettingsDep, services_of
from rescind.web.forwarded import client_key
from rescind.web.public import receipts
from rescind.web.public.forms import (
    FORM_ITEM_ROWS,
    FORM_TOKEN_FIELD,
    FORM_TOKEN_S,
    GOOD_FAITH_TEXT,
    HONEYPOT_FIELD,
    ITEM_PATH,
    SWITCH_LANGUAGE_FIELD,
    error_message,
    field_id,
    field_label,
    item_row,
    parse_request_form,
)
from rescind.web.public.pages import Page, page
from rescind.web.security import CSRF_COOKIE, CSRF_FIELD
from rescind.web.sessions import Signer

router = APIRouter(include_in_schema=False)
# 20 pictures hashed on the device, each with up to ~150 bank views of ~92 bytes posted
# (`variant%3Aquality%3Ahash`), twice that for a flat picture (its equalised copy's views
# too, docs/matching.md): ~550 KiB for 20 flat ones, and room for the text fields.
MAX_FORM_BYTES = 640 * 1024
PageDep = Annotated[Page, Depends(page)]


async def posted_form(request: Request) -> FormData:
    """The posted form, refused above `MAX_FORM_BYTES` (no file uploads on public pages)."""
    length = request.headers.get("content-length")
    if (
        length is None
        or not (length.isascii() and length.isdigit())
        or int(length) > MAX_FORM_BYTES
    ):
        raise HTTPException(413, "Request too large")
    return await request.form(max_files=0, max_fields=400, max_part_size=MAX_FORM_BYTES)


FormDep = Annotated[FormData, Depends(posted_form)]


def _form_values(form: FormData | None) -> dict[str, str]:
    if form is None:
        return {}
    return {
        k: v
        for k, v in form.items()
        if isinstance(v, str)
        and k not in (CSRF_FIELD, HONEYPOT_FIELD, FORM_TOKEN_FIELD, SWITCH_LANGUAGE_FIELD)
    }


def _anchor(field: str) -> str:
    # Hashes travel in hidden inputs: point the person at the item's visible address field.
    if field == "items":
        return field_id("items[0].url")
    if field.endswith((".pdq", ".views", ".smooth", ".md5", ".sha256")):
        return field_id(field.rsplit(".", 1)[0] + ".url")
    return field_id(field)


def _render_form(
    p: Page,
    *,
    form_token: str,
    form: FormData | None = None,
    errors: list[FieldError] | None = None,
    status_code: int = 200,
) -> Response:
    values = _form_values(form)
    rows = FORM_ITEM_ROWS
    for key in values:
        match = ITEM_PATH.match(key)
        if match:
            rows = max(rows, min(item_row(match.group(1)) + 1, MAX_ITEMS))
    shown: list[dict[str, Any]] = [
        {
            "field": e.field,
            "id": _anchor(e.field),
            "label": field_label(p.t, e.field),
            "message": error_message(p.t, e),
        }
        for e in errors or []
    ]
    by_field = {e["field"]: e["message"] for e in shown}
    return p.render(
        "public/form.html",
        {
            "values": values,
            "errors": shown,
            "field_errors": by_field,
            "item_rows": rows,
            "max_items": MAX_ITEMS,
            "max_pdq": MAX_PDQ_PER_ITEM,
            "max_views": MAX_VIEWS_PER_ITEM,
            "good_faith_text": p.t.gettext(GOOD_FAITH_TEXT),
            "today": datetime.now(UTC).date().isoformat(),
            "deadline_hours": services_of(p.request.app).settings.request_deadline_hours,
            "form_token": form_token,
        },
        status_code=status_code,
    )


def _form_signer(p: Page) -> Signer:
    return Signer(services_of(p.request.app).settings, "form-token")


def _new_form_token(p: Page) -> str:
    return _form_signer(p).dumps({"n": secrets.token_urlsafe(16)}, FORM_TOKEN_S)


def _posted_form_token(p: Page, form: FormData) -> str | None:
    """The form's one-time token when it is ours and unexpired."""
    token = form.get(FORM_TOKEN_FIELD)
    if not isinstance(token, str) or _form_signer(p).loads(token) is None:
        return None
    return token


@router.get("/")
def request_form(p: PageDep) -> Response:
    """The notice and the empty form."""
    return _render_form(p, form_token=_new_form_token(p))


@router.post("/")
def submit_form(p: PageDep, form: FormDep, db: DatabaseDep, settings: SettingsDep) -> Response:
    """Validate, store (committed), then redirect to the confirmation (POST/redirect/GET).

    A language button re-renders the form in the new language with what was typed. A form
    token that already filed a case redirects to that case's confirmation: a reload or a
    double submit never files a second case."""
    services = services_of(p.request.app)
    token = form.get(CSRF_FIELD)
    form_token = _posted_form_token(p, form)
    if not services.csrf.valid(p.request, token if isinstance(token, str) else None):
        return _render_form(
            p,
            form=form,
            errors=[FieldError("csrf", "csrf")],
            status_code=403,
            form_token=form_token or _new_form_token(p),
        )
    if form.get(SWITCH_LANGUAGE_FIELD):
        return _render_form(p, form=form, form_token=form_token or _new_form_token(p))
    if form.get(HONEYPOT_FIELD):
        # A field hidden from people: bots fill it. Nothing is stored; the form is shown again.
        return _render_form(
            p,
            form=form,
            errors=[FieldError("csrf", "honeypot")],
            status_code=400,
            form_token=_new_form_token(p),
        )
    if form_token is None:
        return _render_form(
            p,
            form=form,
            errors=[FieldError("csrf", "csrf")],
            status_code=403,
            form_token=_new_form_token(p),
        )
    replayed = _replayed(p, db, settings, form_token)
    if replayed is not None:
        return replayed
    limits = services.limits
    ip = client_key(p.request, services.settings)
    if (
        not limits.attempt_ip.allow(ip)
        or not limits.submit_ip.has_token(ip)
        or not limits.submit_all.has_token("*")
    ):
        # Refused, with what was typed kept: a person must not have to write it all again.
        return _render_form(
            p,
            form=form,
            errors=[FieldError("csrf", "busy")],
            status_code=429,
            form_token=form_token,
        )
    data = parse_request_form(form, p.language, p.t)
    try:
        # Committed when this block exits: the confirmation is only shown after that.
        with db.session() as session:
            submission = submit_request(session, settings, data, form_token=form_token)
            handle, secret = submission.request.handle, submission.secret
            if secret is not None:
                submission.request.receipt_enc = receipts.seal_for_replay(
                    settings, _browser_binding(p, form_token), secret
                )
    except InvalidRequest as exc:
        return _render_form(p, form=form, errors=exc.errors, status_code=422, form_token=form_token)
    except IntegrityError:
        # The same form sent twice at once: the other submission filed the case.
        replayed = _replayed(p, db, settings, form_token)
        if replayed is None:
            raise
        return replayed
    if secret is None:
        return _replayed(p, db, settings, form_token) or _to_confirmation()
    limits.submit_ip.allow(ip)
    limits.submit_all.allow("*")
    response = _to_confirmation()
    receipts.set_receipt(response, settings, handle, secret)
    return response


def _to_confirmation() -> Response:
    return RedirectResponse(receipts.RECEIPT_PATH, status_code=303)


def _browser_binding(p: Page, form_token: str) -> str:
    # The form token and this browser's CSRF cookie (HttpOnly, checked above): a replay from
    # the browser that filed recovers its secret; the token alone recovers nothing.
    return f"{form_token}|{p.request.cookies.get(CSRF_COOKIE, '')}"


def _replayed(p: Page, db: Database, settings: Settings, form_token: str) -> Response | None:
    """The redirect for a form token that already filed a case; None when it filed none.

    The browser that filed it gets its receipt again (a double click whose first answer the
    browser dropped, Back then send), while the receipt lasts and until the person said they
    saved it; anyone else only sees that the request was received."""
    with db.session() as session:
        case = case_for_form_token(session, settings, form_token)
        if case is None:
            return None
        secret = receipts.open_for_replay(
            settings, _browser_binding(p, form_token), case.receipt_enc
        )
        if case.receipt_enc is not None and secret is None:
            case.receipt_enc = None  # expired: nothing of it stays at rest
        handle = case.handle
    response = _to_confirmation()
    if secret is not None:
        receipts.set_receipt(response, settings, handle, secret)
    return response


@router.get(receipts.RECEIPT_PATH)
def confirmation(p: PageDep, db: DatabaseDep, settings: SettingsDep) -> Response:
    """The case number and the secret, on the device that filed the request only.

    The secret lives in a sealed, short-lived cookie of that browser until the person says
    they saved it; a reload or a language switch shows it again there. Anyone else (say, with
    a replayed form) sees that the request was received, and nothing about it."""
    receipt = receipts.read_receipt(p.request, settings)
    context: dict[str, Any] = {"receipt": None}
    if receipt is not None:
        with db.session() as session:
            case = session.scalar(select(Case).where(Case.handle == receipt.handle))
            if case is not None:
                context.update(
                    receipt=receipt,
                    case_number=case.case_number,
                    secret_groups=receipt.secret.split("-"),
                    secret=receipt.secret,
                    deadline=case.deadline_at,
                )
    response = p.render("public/confirmation.html", context)
    if receipt is None:
        receipts.clear_receipt(response)
    return response


@router.get(receipts.RECEIPT_PATH + "/secret.txt")
def download_secret(p: PageDep, db: DatabaseDep, settings: SettingsDep) -> Response:
    """The case number and secret as a text file (works without JavaScript)."""
    receipt = receipts.read_receipt(p.request, settings)
    if receipt is None:
        return RedirectResponse(receipts.RECEIPT_PATH, status_code=303)
    with db.session() as session:
        case = session.scalar(select(Case).where(Case.handle == receipt.handle))
        if case is None:
            return RedirectResponse(receipts.RECEIPT_PATH, status_code=303)
        number = case.case_number
    status_url = f"{settings.public_base_url.rstrip('/')}/status"
    lines = [
        (p.t.gettext("Your removal request"), ""),
        (p.t.gettext("Case number"), number),
        (p.t.gettext("Secret"), receipt.secret),
        (p.t.gettext("Check your request at"), status_url),
    ]
    text = "".join(f"{label}: {value}\n" if value else f"{label}\n" for label, value in lines)
    return PlainTextResponse(
        text,
        headers={
            "content-disposition": f'attachment; filename="{number}.txt"',
            "cache-control": "no-store",
        },
    )


@router.post(receipts.RECEIPT_PATH + "/saved")
def secret_saved(p: PageDep, form: FormDep, db: DatabaseDep, settings: SettingsDep) -> Response:
    """The person saved their secret: forget it on this device and on the server."""
    response = RedirectResponse(receipts.RECEIPT_PATH, status_code=303)
    token = form.get(CSRF_FIELD)
    if services_of(p.request.app).csrf.valid(p.request, token if isinstance(token, str) else None):
        receipt = receipts.read_receipt(p.request, settings)
        if receipt is not None:
            with db.session() as session:
                case = session.scalar(select(Case).where(Case.handle == receipt.handle))
                if case is not None:
                    case.receipt_enc = None
        receipts.clear_receipt(response)
    return response

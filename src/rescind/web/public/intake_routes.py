"""`/`: the plain-language notice and the removal request form; the confirmation page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from rescind.cases.errors import FieldError, InvalidRequest
from rescind.cases.intake import submit_request
from rescind.cases.validation import MAX_ITEMS
from rescind.web.deps import DatabaseDep, SettingsDep, services_of
from rescind.web.public.forms import (
    FORM_ITEM_ROWS,
    GOOD_FAITH_TEXT,
    HONEYPOT_FIELD,
    ITEM_PATH,
    error_message,
    field_id,
    field_label,
    parse_request_form,
)
from rescind.web.public.pages import Page, client_ip, page
from rescind.web.security import CSRF_FIELD

router = APIRouter(include_in_schema=False)
MAX_FORM_BYTES = 256 * 1024
PageDep = Annotated[Page, Depends(page)]


async def posted_form(request: Request) -> FormData:
    """The posted form, refused above `MAX_FORM_BYTES` (no file uploads on public pages)."""
    length = request.headers.get("content-length")
    if length is None or not length.isdigit() or int(length) > MAX_FORM_BYTES:
        raise HTTPException(413, "Request too large")
    return await request.form(max_files=0, max_fields=400, max_part_size=MAX_FORM_BYTES)


FormDep = Annotated[FormData, Depends(posted_form)]


def _form_values(form: FormData | None) -> dict[str, str]:
    if form is None:
        return {}
    return {
        k: v
        for k, v in form.items()
        if isinstance(v, str) and k not in (CSRF_FIELD, HONEYPOT_FIELD)
    }


def _anchor(field: str) -> str:
    # Hashes travel in hidden inputs: point the person at the item's visible address field.
    if field == "items":
        return field_id("items[0].url")
    if field.endswith((".pdq", ".md5", ".sha256")):
        return field_id(field.rsplit(".", 1)[0] + ".url")
    return field_id(field)


def _render_form(
    p: Page,
    *,
    form: FormData | None = None,
    errors: list[FieldError] | None = None,
    status_code: int = 200,
) -> Response:
    values = _form_values(form)
    rows = FORM_ITEM_ROWS
    for key in values:
        match = ITEM_PATH.match(key)
        if match:
            rows = max(rows, min(int(match.group(1)) + 1, MAX_ITEMS))
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
            "good_faith_text": p.t.gettext(GOOD_FAITH_TEXT),
            "today": datetime.now(UTC).date().isoformat(),
            "deadline_hours": services_of(p.request.app).settings.request_deadline_hours,
        },
        status_code=status_code,
    )


@router.get("/")
def request_form(p: PageDep) -> Response:
    """The notice and the empty form."""
    return _render_form(p)


@router.post("/")
def submit_form(p: PageDep, form: FormDep, db: DatabaseDep, settings: SettingsDep) -> Response:
    """Validate, store (committed), then show the case number and secret once."""
    token = form.get(CSRF_FIELD)
    if not services_of(p.request.app).csrf.valid(
        p.request, token if isinstance(token, str) else None
    ):
        return _render_form(p, form=form, errors=[FieldError("csrf", "csrf")], status_code=403)
    if form.get(HONEYPOT_FIELD):
        # A field hidden from people: bots fill it. Nothing is stored; the form is shown again.
        return _render_form(p, form=form, errors=[FieldError("csrf", "honeypot")], status_code=400)
    limits = services_of(p.request.app).limits
    ip = client_ip(p.request)
    if (
        not limits.attempt_ip.allow(ip)
        or not limits.submit_ip.has_token(ip)
        or not limits.submit_all.has_token("*")
    ):
        return p.render("public/busy.html", {}, status_code=429)
    data = parse_request_form(form, p.language, p.t)
    try:
        # Committed when this block exits: the confirmation is only built after that.
        with db.session() as session:
            submission = submit_request(session, settings, data)
            case_number, secret = submission.case_number, submission.secret
            deadline = submission.request.deadline_at
    except InvalidRequest as exc:
        return _render_form(p, form=form, errors=exc.errors, status_code=422)
    limits.submit_ip.allow(ip)
    limits.submit_all.allow("*")
    return p.render(
        "public/confirmation.html",
        {
            "case_number": case_number,
            "secret": secret,
            "deadline": deadline,
            "email_enabled": bool(settings.smtp_host),
        },
    )

"""The public form: parsing posted fields into a `RequestInput`, and errors in plain words.

Field names in the HTML are the JSON API's paths (`requester.email`, `items[0].url`), so one
validation serves both and each error points at its input.
"""

from __future__ import annotations

import gettext
import re

from starlette.datastructures import FormData

from rescind.cases.errors import FieldError
from rescind.cases.validation import MAX_ITEMS, ItemInput, RequestInput, clean
from rescind.locale import N_
from rescind.store.statuses import Channel

FORM_ITEM_ROWS = 3
HONEYPOT_FIELD = "website"
# One-time token of a rendered form: the case it files keeps its digest, so a reload or a
# double submit finds that case instead of filing another one.
FORM_TOKEN_FIELD = "form_token"  # noqa: S105 - a field name, not a secret
FORM_TOKEN_S = 24 * 3600
# A language button posts the form to itself under this name: what was typed is shown again.
SWITCH_LANGUAGE_FIELD = "switch_language"
# The statement a requester affirms by ticking the box (stored in their language).
GOOD_FAITH_TEXT = N_(
    "I have a good-faith belief that the images I identified were published without the "
    "consent of the person depicted."
)

FIELD_LABELS = {
    "requester.representative": N_("Who is in the images"),
    "items": N_("Where the images are"),
    "good_faith_statement": N_("Good-faith statement"),
    "supporting_info": N_("Supporting information"),
    "requester.name": N_("Your full name"),
    "requester.email": N_("Email address"),
    "requester.phone": N_("Phone number"),
    "signature": N_("Signature"),
    "minor": N_("Age when the images were made"),
    "signed_on": N_("Date"),
    "language": N_("Language"),
    "channel": N_("Channel"),
    "csrf": N_("Form"),
    "information": N_("More information"),
}
ITEM_LABELS = {
    "url": N_("Item %(n)s: web address"),
    "content_id": N_("Item %(n)s: content id"),
    "pdq": N_("Item %(n)s: image fingerprint"),
    "md5": N_("Item %(n)s: file fingerprint (MD5)"),
    "sha256": N_("Item %(n)s: file fingerprint (SHA-256)"),
    "views": N_("Item %(n)s: fingerprints of the picture's views"),
    "description": N_("Item %(n)s: description"),
}
ERROR_MESSAGES = {
    "required": N_("This is required."),
    "items_required": N_("Give at least one web address or content id."),
    "too_long": N_("This is too long (at most %(max)s characters)."),
    "too_many": N_("Too many values (at most %(max)s)."),
    "markup": N_("Please write plain text, without HTML or code."),
    "control": N_("This contains characters that are not allowed."),
    "invalid_url": N_("Enter a full web address starting with https:// or http://."),
    "invalid_content_id": N_("Use only letters, digits and . _ : / - in a content id."),
    "invalid_pdq": N_("An image fingerprint is 64 hexadecimal characters."),
    "invalid_md5": N_("An MD5 fingerprint is 32 hexadecimal characters."),
    "invalid_sha256": N_("A SHA-256 fingerprint is 64 hexadecimal characters."),
    "invalid_view": N_(
        "The fingerprints of this picture's views could not be read. Remove the file and "
        "choose it again."
    ),
    "item_unlocatable": N_("Give a web address, a content id or a fingerprint."),
    "invalid_email": N_("Enter a valid email address, like name@example.com."),
    "invalid_phone": N_("Enter a phone number with digits only (and + ( ) - if needed)."),
    "invalid_date": N_("Enter the date as year-month-day."),
    "date_not_today": N_("Use today's date."),
    "invalid_choice": N_("Choose one of the options."),
    "csrf": N_("This form expired. Please check your answers and send it again."),
    "honeypot": N_("This form could not be accepted. Please send it again."),
    "busy": N_(
        "We are receiving many requests right now. Your answers are kept below: please wait a "
        "few minutes, then send the form again."
    ),
}
# ASCII digits only (`\d` alone takes any script's digits); see `item_row` for long ones.
ITEM_PATH = re.compile(r"^items\[([0-9]+)\]\.(\w+)$")
_ROW_DIGITS = 6
_HEX_SPLIT = re.compile(r"[\s,;]+")


def item_row(digits: str) -> int:
    """The 0-based row an `items[N]` index names. An index of thousands of digits (which `int`
    refuses past 4,300) is simply past every limit: it counts as one row too many."""
    return int(digits) if len(digits) <= _ROW_DIGITS else 10**_ROW_DIGITS


def field_id(path: str) -> str:
    """The HTML id of the input for an error path: `items[0].url` -> `items-0-url`."""
    return re.sub(r"[\[\].]+", "-", path).strip("-")


def field_label(t: gettext.NullTranslations, path: str) -> str:
    """The translated label of a field path."""
    match = ITEM_PATH.match(path)
    if match and match.group(2) in ITEM_LABELS:
        return t.gettext(ITEM_LABELS[match.group(2)]) % {"n": item_row(match.group(1)) + 1}
    return t.gettext(FIELD_LABELS.get(path, path))


def error_message(t: gettext.NullTranslations, error: FieldError) -> str:
    """The translated message of one error (without the label)."""
    return t.gettext(ERROR_MESSAGES.get(error.code, ERROR_MESSAGES["invalid_choice"])) % (
        error.params or {}
    )


def _one(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return clean(value) if isinstance(value, str) else None


def _hashes(form: FormData, name: str) -> list[str]:
    values: list[str] = []
    for raw in form.getlist(name):
        if isinstance(raw, str):
            values += [v.lower() for v in _HEX_SPLIT.split(raw.strip()) if v]
    return values


def _tokens(form: FormData, name: str) -> list[str]:
    values: list[str] = []
    for raw in form.getlist(name):
        if isinstance(raw, str):
            values += raw.split()
    return values


def parse_request_form(form: FormData, language: str, t: gettext.NullTranslations) -> RequestInput:
    """The request a person posted, in the shape the intake service validates."""
    items: list[ItemInput] = []
    rows = max(
        [FORM_ITEM_ROWS]
        + [item_row(m.group(1)) + 1 for k in form if (m := ITEM_PATH.match(k)) is not None]
    )
    for i in range(min(rows, MAX_ITEMS + 1)):
        md5, sha256 = _hashes(form, f"items[{i}].md5"), _hashes(form, f"items[{i}].sha256")
        items.append(
            ItemInput(
                url=_one(form, f"items[{i}].url"),
                content_id=_one(form, f"items[{i}].content_id"),
                pdq=_hashes(form, f"items[{i}].pdq"),
                views=_tokens(form, f"items[{i}].views"),
                # "1" from the device's hasher for a smooth picture (request-files.js).
                smooth=_one(form, f"items[{i}].smooth") == "1",
                md5=md5[0] if len(md5) == 1 else (" ".join(md5) or None),
                sha256=sha256[0] if len(sha256) == 1 else (" ".join(sha256) or None),
            )
        )
    # Drop the form's unused rows; a row past the limit is kept so validation says "too many".
    while rows <= MAX_ITEMS and items and items[-1].is_empty() and len(items) > FORM_ITEM_ROWS:
        items.pop()
    who = _one(form, "requester.representative")
    return RequestInput(
        language=language,
        channel=Channel.PUBLIC_FORM,
        name=_one(form, "requester.name"),
        email=_one(form, "requester.email"),
        phone=_one(form, "requester.phone"),
        representative={"self": False, "representative": True}.get(who or ""),
        signature=_one(form, "signature"),
        signed_on=_one(form, "signed_on"),
        good_faith_statement=(
            t.gettext(GOOD_FAITH_TEXT) if _one(form, "good_faith_statement") == "yes" else None
        ),
        supporting_info=_one(form, "supporting_info"),
        items=items,
        minor=_one(form, "minor"),
        share_consent=_one(form, "share_consent") == "yes",
    )

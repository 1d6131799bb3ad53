"""Validation of a removal request: the TAKE IT DOWN Act's four elements, and sane values.

Every field is checked against a size limit and for markup; errors name the field by its JSON
path (`requester.email`, `items[0].url`) and carry a code the web layer translates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlsplit

from rescind.cases.errors import FieldError
from rescind.media.robust import BANK_VARIANT_NAMES, WHOLE_VIEWS
from rescind.security.text import SPOOFING_CHARACTERS, unsafe_in_identifier
from rescind.store.statuses import Channel, MinorAnswer

LANGUAGES = ("en", "fr", "it", "id", "es", "de")
CHANNELS = tuple(Channel)

MAX_NAME = 200
MAX_EMAIL = 254
MAX_PHONE = 32
MAX_SIGNATURE = 200
MAX_STATEMENT = 5000
MAX_SUPPORTING = 10000
MAX_URL = 2048
MAX_CONTENT_ID = 255
MAX_DESCRIPTION = 1000
MAX_ITEMS = 20
# A picture hashed on the device brings its PDQ hash (its bank views come as `views`); a
# video one hash per distinct second (the page spreads a longer video's hashes over this many).
MAX_PDQ_PER_ITEM = 128
# A picture's bank views from the device, each `<variant>:<quality>:<hash>`: one per variant
# name the server's bank views have (`rescind.media.robust.BANK_VARIANT_NAMES`), at most.
MAX_VIEWS_PER_ITEM = len(BANK_VARIANT_NAMES)
# A smooth picture (a gradient) banks its whole views only (as it is and trimmed of its
# borders; docs/matching.md, "Smooth pictures").
SMOOTH_VIEW_NAMES = frozenset(WHOLE_VIEWS)
_VIEW_RE = re.compile(r"^([a-z0-9_+\-/]{1,32}):([0-9]{1,3}):([0-9a-f]{64})$")

_EMAIL_RE = re.compile(
    r"^[^@\s<>\"'(),;:\\\[\]]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9\-]{0,62}\.)+[A-Za-z]{2,63}$"
)
_PHONE_RE = re.compile(r"^\+?[0-9 ()\-.]{5,31}$")
_CONTENT_ID_RE = re.compile(r"^[A-Za-z0-9._:/\-]+$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
# Tags, comments and declarations; a lone "<" or "a < b" in prose stays allowed.
_MARKUP_RE = re.compile(r"<\s*[A-Za-z!/?]|javascript:", re.IGNORECASE)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass
class ItemInput:
    """One depiction as submitted."""

    url: str | None = None
    content_id: str | None = None
    pdq: list[str] = field(default_factory=list)
    md5: str | None = None
    sha256: str | None = None
    description: str | None = None
    # A picture's bank views as the device sends them: `<variant>:<quality>:<hash>`.
    views: list[str] = field(default_factory=list)
    # The device found the picture smooth (a gradient): its views are banked as smooth.
    smooth: bool = False

    def is_empty(self) -> bool:
        """True when the row carries nothing at all (an unused form row)."""
        return not (
            self.url
            or self.content_id
            or self.pdq
            or self.md5
            or self.sha256
            or self.description
            or self.views
            or self.smooth
        )


@dataclass
class RequestInput:
    """A removal request as submitted, before validation (strings stripped, empties as None)."""

    language: str
    channel: str
    name: str | None
    email: str | None
    phone: str | None
    representative: bool | None
    signature: str | None
    signed_on: str | None
    good_faith_statement: str | None
    supporting_info: str | None
    items: list[ItemInput]
    # "Was the person under 18 when the imagery was made?": yes | no | not_sure.
    minor: str | None = None
    # The person agreed that the case's hashes may go to StopNCII.org (never assumed).
    share_consent: bool = False


@dataclass(frozen=True)
class ViewInput:
    """One bank view of a picture, as validated: its variant name, quality and PDQ hash."""

    variant: str
    quality: int
    hash: str


def parse_view(token: str) -> ViewInput | None:
    """A view token `<variant>:<quality>:<hash>` with a known variant name, a quality from 0
    to 100 and 64 hex characters; None when it is anything else."""
    match = _VIEW_RE.match(token)
    if match is None or match.group(1) not in BANK_VARIANT_NAMES:
        return None
    quality = int(match.group(2))
    return ViewInput(match.group(1), quality, match.group(3)) if quality <= 100 else None


def parse_views(tokens: list[str]) -> list[ViewInput] | None:
    """Every view of an item, or None when one is not a view or a variant comes twice."""
    views = [parse_view(t) for t in tokens]
    if any(v is None for v in views):
        return None
    valid = [v for v in views if v is not None]
    return valid if len({v.variant for v in valid}) == len(valid) else None


def _views(errors: list[FieldError], base: str, item: ItemInput) -> None:
    """A picture's views: bounded, each well formed, and the picture's own hash among the
    item's hashes (its `full` view says its quality). A smooth picture's are its whole views
    only (what a device banks for a gradient), and `smooth` needs them."""
    if not item.views:
        if item.smooth:
            errors.append(FieldError(f"{base}.views", "invalid_view"))
        return
    if len(item.views) > MAX_VIEWS_PER_ITEM:
        errors.append(FieldError(f"{base}.views", "too_many", {"max": MAX_VIEWS_PER_ITEM}))
        return
    views = parse_views(item.views)
    full = [v for v in views or [] if v.variant == "full"]
    whole = views is not None and all(v.variant in SMOOTH_VIEW_NAMES for v in views)
    if views is None or len(full) != 1 or full[0].hash not in item.pdq:
        errors.append(FieldError(f"{base}.views", "invalid_view"))
    elif item.smooth and not whole:
        errors.append(FieldError(f"{base}.views", "invalid_view"))  # a gradient's are whole


def clean(value: str | None) -> str | None:
    """Strip a submitted string; empty becomes None."""
    if value is None:
        return None
    value = value.strip()
    return value or None


def _text(
    errors: list[FieldError],
    path: str,
    value: str | None,
    max_len: int,
    *,
    required: bool,
    multiline: bool = False,
) -> None:
    if value is None:
        if required:
            errors.append(FieldError(path, "required"))
        return
    if len(value) > max_len:
        errors.append(FieldError(path, "too_long", {"max": max_len}))
    elif _MARKUP_RE.search(value):
        errors.append(FieldError(path, "markup"))
    elif _CONTROL_RE.search(value) or (
        not multiline and ("\n" in value or "\r" in value or SPOOFING_CHARACTERS.search(value))
    ):
        # one-line fields are names, addresses and signatures: no bidirectional override,
        # isolate or zero-width space in them (security/text.py says why joiners are kept)
        errors.append(FieldError(path, "control"))


def validate_text(
    path: str, value: str | None, max_len: int, *, required: bool, multiline: bool = False
) -> list[FieldError]:
    """Problems with one free-text value (required, size, markup, control characters)."""
    errors: list[FieldError] = []
    _text(errors, path, value, max_len, required=required, multiline=multiline)
    return errors


def _url(errors: list[FieldError], path: str, value: str) -> None:
    if len(value) > MAX_URL:
        errors.append(FieldError(path, "too_long", {"max": MAX_URL}))
        return
    hostile = re.search(r"[\s\x00-\x1f\x7f<>\"'`]", value) or unsafe_in_identifier(value)
    parts = urlsplit(value) if not hostile else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        errors.append(FieldError(path, "invalid_url"))


def _item(errors: list[FieldError], i: int, item: ItemInput) -> None:
    base = f"items[{i}]"
    if item.url is not None:
        _url(errors, f"{base}.url", item.url)
    if item.content_id is not None:
        if len(item.content_id) > MAX_CONTENT_ID:
            errors.append(FieldError(f"{base}.content_id", "too_long", {"max": MAX_CONTENT_ID}))
        elif not _CONTENT_ID_RE.match(item.content_id):
            errors.append(FieldError(f"{base}.content_id", "invalid_content_id"))
    if len(item.pdq) > MAX_PDQ_PER_ITEM:
        errors.append(FieldError(f"{base}.pdq", "too_many", {"max": MAX_PDQ_PER_ITEM}))
    elif any(not _HEX64.match(h) for h in item.pdq):
        errors.append(FieldError(f"{base}.pdq", "invalid_pdq"))
    else:
        _views(errors, base, item)
    if item.md5 is not None and not _HEX32.match(item.md5):
        errors.append(FieldError(f"{base}.md5", "invalid_md5"))
    if item.sha256 is not None and not _HEX64.match(item.sha256):
        errors.append(FieldError(f"{base}.sha256", "invalid_sha256"))
    _text(errors, f"{base}.description", item.description, MAX_DESCRIPTION, required=False)
    # Element 2 of the Act: enough to identify and locate the depiction.
    if not (item.url or item.content_id or item.pdq or item.md5 or item.sha256):
        errors.append(FieldError(f"{base}.url", "item_unlocatable"))


def validate(data: RequestInput, today: date) -> list[FieldError]:
    """Every problem with `data`, in form order; empty when the request is valid."""
    errors: list[FieldError] = []
    if data.language not in LANGUAGES:
        errors.append(FieldError("language", "invalid_choice"))
    if data.channel not in CHANNELS:
        errors.append(FieldError("channel", "invalid_choice"))
    if data.representative is None:
        errors.append(FieldError("requester.representative", "required"))
    items = [item for item in data.items if not item.is_empty()]
    if not items:
        errors.append(FieldError("items", "items_required"))
    elif len(data.items) > MAX_ITEMS:
        errors.append(FieldError("items", "too_many", {"max": MAX_ITEMS}))
    else:
        for i, item in enumerate(data.items):
            if not item.is_empty():
                _item(errors, i, item)
    _text(
        errors,
        "good_faith_statement",
        data.good_faith_statement,
        MAX_STATEMENT,
        required=True,
        multiline=True,
    )
    _text(
        errors,
        "supporting_info",
        data.supporting_info,
        MAX_SUPPORTING,
        required=False,
        multiline=True,
    )
    _text(errors, "requester.name", data.name, MAX_NAME, required=True)
    _text(errors, "requester.email", data.email, MAX_EMAIL, required=True)
    email_ok = not any(e.field == "requester.email" for e in errors)
    if data.email and email_ok and not _EMAIL_RE.match(data.email):
        errors.append(FieldError("requester.email", "invalid_email"))
    if data.phone is not None:
        if len(data.phone) > MAX_PHONE:
            errors.append(FieldError("requester.phone", "too_long", {"max": MAX_PHONE}))
        elif not _PHONE_RE.match(data.phone):
            errors.append(FieldError("requester.phone", "invalid_phone"))
    _text(errors, "signature", data.signature, MAX_SIGNATURE, required=True)
    if data.minor is None and data.channel == Channel.PUBLIC_FORM:
        errors.append(FieldError("minor", "required"))
    elif data.minor is not None and data.minor not in tuple(MinorAnswer):
        errors.append(FieldError("minor", "invalid_choice"))
    if data.signed_on is None and data.channel == Channel.PUBLIC_FORM:
        errors.append(FieldError("signed_on", "required"))
    if data.signed_on is not None:
        try:
            signed = date.fromisoformat(data.signed_on)
        except ValueError:
            errors.append(FieldError("signed_on", "invalid_date"))
        else:
            # Time zones put a person up to a day either side of the server's date.
            if abs(signed - today) > timedelta(days=1):
                errors.append(FieldError("signed_on", "date_not_today"))
    return errors

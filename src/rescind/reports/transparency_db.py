"""Statements of reasons in the EU DSA Transparency Database's format, and its field rules.

One statement per removal the platform confirmed (`outcome = removed`), applied (confirmed) in
the period; `puid` is our action id. Statements go in batches of at most 100, the most its
API takes in one call (`POST /api/v1/statements` with `{"statements": [...]}`).

The field rules are those the database's own API enforces, read from its public source
(github.com/digital-services-act/transparency-database, `app/Http/Requests/
StatementStoreRequest.php` and `app/Models/Statement.php`, June 2026): required fields, enum
values, lengths, date formats and ranges, the PUID pattern. `validate` checks each statement
against them before anything is sent, and additionally refuses fields the API does not know
(a typo would otherwise be dropped silently).

What Rescind cannot know is said plainly: it does not record whether imagery is synthetic, so
`KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE` is added only for cases the operator names
(`synthetic`); `content_date` is the day the registry first saw the content (the case's
receipt day for content known only by URL), an upper bound of the day it was posted. A case
flagged as possibly depicting a minor goes under `STATEMENT_CATEGORY_PROTECTION_OF_MINORS`
(the NCII keywords exclude content depicting minors).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rescind.config import Settings
from rescind.platform.statements import NOTICE, StatementOfReasons, statements_for
from rescind.store.models import Action, Content, Request
from rescind.store.statuses import ActionOutcome, ActionStatus, Channel, ChildSafetyFlag

BATCH_SIZE = 100
REMOVE = "content.remove"

# --- the database's enumerations (keys, as its API takes them) ----------------------------------
DECISION_VISIBILITIES = frozenset(
    {
        "DECISION_VISIBILITY_CONTENT_REMOVED",
        "DECISION_VISIBILITY_CONTENT_DISABLED",
        "DECISION_VISIBILITY_CONTENT_DEMOTED",
        "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
        "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED",
        "DECISION_VISIBILITY_CONTENT_LABELLED",
        "DECISION_VISIBILITY_OTHER",
    }
)
DECISION_MONETARIES = frozenset(
    {"DECISION_MONETARY_SUSPENSION", "DECISION_MONETARY_TERMINATION", "DECISION_MONETARY_OTHER"}
)
DECISION_PROVISIONS = frozenset(
    {
        "DECISION_PROVISION_PARTIAL_SUSPENSION",
        "DECISION_PROVISION_TOTAL_SUSPENSION",
        "DECISION_PROVISION_PARTIAL_TERMINATION",
        "DECISION_PROVISION_TOTAL_TERMINATION",
    }
)
DECISION_ACCOUNTS = frozenset({"DECISION_ACCOUNT_SUSPENDED", "DECISION_ACCOUNT_TERMINATED"})
ACCOUNT_TYPES = frozenset({"ACCOUNT_TYPE_BUSINESS", "ACCOUNT_TYPE_PRIVATE"})
DECISION_GROUNDS = frozenset(
    {"DECISION_GROUND_ILLEGAL_CONTENT", "DECISION_GROUND_INCOMPATIBLE_CONTENT"}
)
YES_NO = frozenset({"Yes", "No"})  # automated_detection, incompatible_content_illegal (values)
CONTENT_TYPES = frozenset(
    {
        "CONTENT_TYPE_APP",
        "CONTENT_TYPE_AUDIO",
        "CONTENT_TYPE_IMAGE",
        "CONTENT_TYPE_PRODUCT",
        "CONTENT_TYPE_SYNTHETIC_MEDIA",
        "CONTENT_TYPE_TEXT",
        "CONTENT_TYPE_VIDEO",
        "CONTENT_TYPE_OTHER",
    }
)
CATEGORIES = frozenset(
    {
        "STATEMENT_CATEGORY_ANIMAL_WELFARE",
        "STATEMENT_CATEGORY_CONSUMER_INFORMATION",
        "STATEMENT_CATEGORY_CYBER_VIOLENCE",
        "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN",
        "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
        "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
        "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
        "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE",
        "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
        "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
        "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
        "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
        "STATEMENT_CATEGORY_SELF_HARM",
        "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS",
        "STATEMENT_CATEGORY_VIOLENCE",
    }
)
KEYWORDS = frozenset(
    "KEYWORD_" + k
    for k in [
        "ADULT_SEXUAL_MATERIAL",
        "AGE_SPECIFIC_RESTRICTIONS",
        "AGE_SPECIFIC_RESTRICTIONS_MINORS",
        "ANIMAL_HARM",
        "BIOMETRIC_DATA_BREACH",
        "BULLYING_AGAINST_GIRLS",
        "CHILD_SEXUAL_ABUSE_MATERIAL",
        "CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE",
        "CONTENT_PROMOTING_EATING_DISORDERS",
        "COORDINATED_HARM",
        "COPYRIGHT_INFRINGEMENT",
        "CYBER_BULLYING_INTIMIDATION",
        "CYBER_HARASSMENT",
        "CYBER_HARASSMENT_AGAINST_WOMEN",
        "CYBER_INCITEMENT",
        "CYBER_STALKING",
        "CYBER_STALKING_AGAINST_WOMEN",
        "DATA_FALSIFICATION",
        "DEFAMATION",
        "DESIGN_INFRINGEMENT",
        "DISCRIMINATION",
        "FEMALE_GENDERED_DISINFORMATION",
        "GEOGRAPHIC_INDICATIONS_INFRINGEMENT",
        "GEOGRAPHICAL_REQUIREMENTS",
        "GOODS_SERVICES_NOT_PERMITTED",
        "GROOMING_SEXUAL_ENTICEMENT_MINORS",
        "HATE_SPEECH",
        "HIDDEN_ADVERTISEMENT",
        "HUMAN_EXPLOITATION",
        "HUMAN_TRAFFICKING",
        "ILLEGAL_ORGANIZATIONS",
        "IMPERSONATION_ACCOUNT_HIJACKING",
        "INAUTHENTIC_ACCOUNTS",
        "INAUTHENTIC_LISTINGS",
        "INAUTHENTIC_USER_REVIEWS",
        "INCITEMENT_AGAINST_WOMEN",
        "INCITEMENT_VIOLENCE_HATRED",
        "INSUFFICIENT_INFORMATION_ON_TRADERS",
        "LANGUAGE_REQUIREMENTS",
        "MISINFORMATION_DISINFORMATION",
        "MISLEADING_INFO_CONSUMER_RIGHTS",
        "MISLEADING_INFO_GOODS_SERVICES",
        "MISSING_PROCESSING_GROUND",
        "NON_CONSENSUAL_IMAGE_SHARING",
        "NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN",
        "NON_CONSENSUAL_MATERIAL_DEEPFAKE",
        "NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN",
        "NONCOMPLIANCE_PRICING",
        "NUDITY",
        "PATENT_INFRINGEMENT",
        "PHISHING",
        "PROHIBITED_PRODUCTS",
        "PYRAMID_SCHEMES",
        "RIGHT_TO_BE_FORGOTTEN",
        "RISK_ENVIRONMENTAL_DAMAGE",
        "RISK_PUBLIC_HEALTH",
        "SELF_MUTILATION",
        "STALKING",
        "SUICIDE",
        "TERRORIST_CONTENT",
        "TRADE_SECRET_INFRINGEMENT",
        "TRADEMARK_INFRINGEMENT",
        "TRAFFICKING_WOMEN_GIRLS",
        "UNLAWFUL_SALE_ANIMALS",
        "UNSAFE_CHALLENGES",
        "UNSAFE_PRODUCTS",
        "VIOLATION_EU_LAW",
        "VIOLATION_NATIONAL_LAW",
        "OTHER",
    ]
)
SOURCE_TYPES = frozenset(
    {
        "SOURCE_ARTICLE_16",
        "SOURCE_TRUSTED_FLAGGER",
        "SOURCE_TYPE_OTHER_NOTIFICATION",
        "SOURCE_VOLUNTARY",
    }
)
AUTOMATED_DECISIONS = frozenset(
    {"AUTOMATED_DECISION_FULLY", "AUTOMATED_DECISION_PARTIALLY", "AUTOMATED_DECISION_NOT_AUTOMATED"}
)
COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
        "IS",
        "LI",
        "NO",
    ]
)
NCII = "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING"
DEEPFAKE = "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE"
CSAM = "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL"
PUID = re.compile(r"[a-zA-Z0-9\-_]+")

# Which fields are arrays, which are enums, and their limits.
ARRAY_ENUMS: dict[str, frozenset[str]] = {
    "decision_visibility": DECISION_VISIBILITIES,
    "category_specification": KEYWORDS,
    "content_type": CONTENT_TYPES,
    "category_addition": CATEGORIES,
    "territorial_scope": COUNTRIES,
}
SCALAR_ENUMS: dict[str, frozenset[str]] = {
    "decision_monetary": DECISION_MONETARIES,
    "decision_provision": DECISION_PROVISIONS,
    "decision_account": DECISION_ACCOUNTS,
    "account_type": ACCOUNT_TYPES,
    "decision_ground": DECISION_GROUNDS,
    "incompatible_content_illegal": YES_NO,
    "category": CATEGORIES,
    "source_type": SOURCE_TYPES,
    "automated_detection": YES_NO,
    "automated_decision": AUTOMATED_DECISIONS,
}
MAX_LENGTHS = {
    "decision_visibility_other": 500,
    "decision_monetary_other": 500,
    "category_specification_other": 500,
    "decision_ground_reference_url": 500,
    "illegal_content_legal_ground": 500,
    "illegal_content_explanation": 2000,
    "incompatible_content_ground": 500,
    "incompatible_content_explanation": 2000,
    "content_type_other": 500,
    "decision_facts": 5000,
    "source_identity": 500,
    "puid": 500,
}
DATES: dict[str, tuple[date | None, date]] = {  # field: (earliest, latest)
    "content_date": (date(2000, 1, 1), date(2038, 1, 1)),
    "application_date": (date(2020, 1, 1), date(2038, 1, 1)),
    "end_date_account_restriction": (None, date(2038, 1, 1)),
    "end_date_monetary_restriction": (None, date(2038, 1, 1)),
    "end_date_service_restriction": (None, date(2038, 1, 1)),
    "end_date_visibility_restriction": (None, date(2038, 1, 1)),
}
KNOWN_FIELDS = frozenset(
    {
        *ARRAY_ENUMS,
        *SCALAR_ENUMS,
        *MAX_LENGTHS,
        *DATES,
        "content_id",
        "content_id_ean",
        "content_language",
    }
)
REQUIRED = (
    "decision_ground",
    "content_type",
    "category",
    "content_date",
    "application_date",
    "decision_facts",
    "source_type",
    "automated_detection",
    "automated_decision",
    "puid",
)


@dataclass(frozen=True)
class FieldError:
    """One broken rule: which statement (by puid, or position), which field, what is wrong."""

    statement: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.statement}: {self.field}: {self.message}"


def _blank(value: object) -> bool:
    return value is None or value == "" or value == []


def validate(statement: dict[str, Any], name: str = "?") -> list[FieldError]:
    """Every rule `statement` breaks (empty: the database would take it)."""
    errors: list[FieldError] = []

    def bad(field: str, message: str) -> None:
        errors.append(FieldError(str(statement.get("puid") or name), field, message))

    for field in sorted(set(statement) - KNOWN_FIELDS):
        bad(field, "not a field of the Transparency Database")
    for field in REQUIRED:
        if _blank(statement.get(field)):
            bad(field, "is required")
    restrictions = (
        "decision_visibility",
        "decision_monetary",
        "decision_provision",
        "decision_account",
    )
    if all(_blank(statement.get(f)) for f in restrictions):
        bad("decision_visibility", "one of the four restrictions is required")
    for field, allowed in ARRAY_ENUMS.items():
        value = statement.get(field)
        if value is None:
            continue
        if not isinstance(value, list):
            bad(field, "must be an array")
            continue
        for item in value:
            if item not in allowed:
                bad(field, f"{item!r} is not an allowed value")
    for field, allowed in SCALAR_ENUMS.items():
        value = statement.get(field)
        if value is not None and value not in allowed:
            bad(field, f"{value!r} is not an allowed value")
    for field, limit in MAX_LENGTHS.items():
        value = statement.get(field)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            bad(field, f"must be text of at most {limit} characters")
    for field, (earliest, latest) in DATES.items():
        value = statement.get(field)
        if value is None:
            continue
        try:
            if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise ValueError
            day = date.fromisoformat(value)
        except ValueError:
            bad(field, "must be a date YYYY-MM-DD")
            continue
        if (earliest and day < earliest) or day > latest:
            bad(field, f"must be between {earliest or 'any day'} and {latest}")
    puid = statement.get("puid")
    if isinstance(puid, str) and not PUID.fullmatch(puid):
        bad("puid", "only letters, digits, '-' and '_'")
    ground = statement.get("decision_ground")
    if ground == "DECISION_GROUND_ILLEGAL_CONTENT":
        for field in ("illegal_content_legal_ground", "illegal_content_explanation"):
            if _blank(statement.get(field)):
                bad(field, "is required when the ground is illegal content")
    if ground == "DECISION_GROUND_INCOMPATIBLE_CONTENT":
        for field in ("incompatible_content_ground", "incompatible_content_explanation"):
            if _blank(statement.get(field)):
                bad(field, "is required when the ground is incompatible content")
    for field, other, key in (
        ("decision_visibility", "decision_visibility_other", "DECISION_VISIBILITY_OTHER"),
        ("content_type", "content_type_other", "CONTENT_TYPE_OTHER"),
    ):
        chosen = statement.get(field) or []
        if isinstance(chosen, list) and key in chosen and _blank(statement.get(other)):
            bad(other, f"is required with {key}")
    if statement.get("decision_monetary") == "DECISION_MONETARY_OTHER" and _blank(
        statement.get("decision_monetary_other")
    ):
        bad("decision_monetary_other", "is required with DECISION_MONETARY_OTHER")
    if statement.get("source_type") == "SOURCE_VOLUNTARY" and "source_identity" in statement:
        bad("source_identity", "must be left out for own-initiative decisions")
    return errors


def validate_batch(statements: Sequence[dict[str, Any]]) -> list[FieldError]:
    """The rules of one API call: 1 to 100 statements with distinct PUIDs, each valid."""
    errors: list[FieldError] = []
    if not 1 <= len(statements) <= BATCH_SIZE:
        errors.append(FieldError("batch", "statements", f"must hold 1 to {BATCH_SIZE}"))
    seen: set[object] = set()
    for i, statement in enumerate(statements):
        errors += validate(statement, f"#{i}")
        puid = statement.get("puid")
        if puid in seen:
            errors.append(FieldError(str(puid), "puid", "used twice in the batch"))
        seen.add(puid)
    return errors


# --- our removals as statements -----------------------------------------------------------------

AUTOMATED = {
    "fully": "AUTOMATED_DECISION_FULLY",
    "partially": "AUTOMATED_DECISION_PARTIALLY",
    "not_automated": "AUTOMATED_DECISION_NOT_AUTOMATED",
}
ILLEGAL_GROUND = (
    "Non-consensual sharing of intimate images: US TAKE IT DOWN Act (Public Law 119-12); "
    "Directive (EU) 2024/1385, Art. 5, as transposed in national criminal law"
)


def tdb_statement(
    action: Action,
    sor: StatementOfReasons,
    request: Request | None,
    content: Content | None,
    *,
    ground: str = "illegal",
    synthetic: bool = False,
) -> dict[str, Any]:
    """One removal as a Transparency Database statement of reasons."""
    applied = action.confirmed_at or action.created_at
    seen = content.first_seen_at if content is not None else None
    posted = seen or (request.received_at if request is not None else applied)
    minor = request is not None and request.child_safety == ChildSafetyFlag.POSSIBLE
    if minor:
        category, keywords = "STATEMENT_CATEGORY_PROTECTION_OF_MINORS", [CSAM]
    else:
        category, keywords = "STATEMENT_CATEGORY_CYBER_VIOLENCE", [NCII]
        if synthetic:
            keywords.append(DEEPFAKE)
    if sor.source == NOTICE:
        regulator = request is not None and request.channel in (Channel.REGULATOR, Channel.PARTNER)
        source = "SOURCE_TYPE_OTHER_NOTIFICATION" if regulator else "SOURCE_ARTICLE_16"
    else:
        source = "SOURCE_VOLUNTARY"
    kind = content.kind if content is not None else None
    statement: dict[str, Any] = {
        "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
        "category": category,
        "category_specification": sorted(keywords),
        "content_type": ["CONTENT_TYPE_VIDEO" if kind == "video" else "CONTENT_TYPE_IMAGE"]
        if kind
        else ["CONTENT_TYPE_OTHER"],
        "content_date": posted.date().isoformat(),
        "application_date": applied.date().isoformat(),
        "decision_facts": sor.facts[:5000],
        "source_type": source,
        "automated_detection": "Yes" if sor.automated_detection else "No",
        "automated_decision": AUTOMATED[sor.automated_decision],
        "puid": str(action.id),
    }
    if not kind:
        statement["content_type_other"] = "Intimate image or video named by its address"
    if ground == "terms":
        statement["decision_ground"] = "DECISION_GROUND_INCOMPATIBLE_CONTENT"
        statement["incompatible_content_ground"] = (
            sor.terms_ground + (f" ({sor.terms_url})" if sor.terms_url else "")
        )[:500]
        statement["incompatible_content_explanation"] = sor.facts[:2000]
        statement["incompatible_content_illegal"] = "Yes"
    else:
        statement["decision_ground"] = "DECISION_GROUND_ILLEGAL_CONTENT"
        statement["illegal_content_legal_ground"] = ILLEGAL_GROUND
        statement["illegal_content_explanation"] = sor.facts[:2000]
    if sor.terms_url:
        statement["decision_ground_reference_url"] = sor.terms_url[:500]
    return statement


def removals(
    session: Session, start: datetime, end: datetime, batch: int = BATCH_SIZE
) -> Iterator[list[Action]]:
    """Removals the platform confirmed `removed` in [start, end), in id order, in batches."""
    after = 0
    while True:
        rows = list(
            session.scalars(
                select(Action)
                .where(
                    Action.id > after,
                    Action.type == REMOVE,
                    Action.status == ActionStatus.CONFIRMED,
                    Action.outcome == ActionOutcome.REMOVED,
                    Action.confirmed_at >= start,
                    Action.confirmed_at < end,
                )
                .order_by(Action.id)
                .limit(batch)
            )
        )
        if not rows:
            return
        yield rows
        after = rows[-1].id


def statement_batches(
    session: Session,
    settings: Settings,
    start: datetime,
    end: datetime,
    *,
    ground: str = "illegal",
    synthetic: frozenset[str] = frozenset(),
) -> Iterator[list[dict[str, Any]]]:
    """The period's statements, 100 (or fewer, last) at a time."""
    for actions in removals(session, start, end):
        sors = statements_for(session, settings, actions)
        requests = {
            r.id: r
            for r in session.scalars(
                select(Request).where(Request.id.in_({a.request_id for a in actions}))
            )
        }
        contents = {
            c.content_id: c
            for c in session.scalars(
                select(Content).where(Content.content_id.in_({a.content_id for a in actions}))
            )
        }
        out = []
        for a in actions:
            request = requests.get(a.request_id) if a.request_id is not None else None
            out.append(
                tdb_statement(
                    a,
                    sors[a.id],
                    request,
                    contents.get(a.content_id) if a.content_id else None,
                    ground=ground,
                    synthetic=request is not None and request.case_number in synthetic,
                )
            )
        yield out


@dataclass(frozen=True)
class Export:
    """What an export wrote."""

    files: list[Path]
    statements: int


class InvalidStatements(ValueError):
    """A statement broke the database's rules: nothing is written."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(str(e) for e in errors[:20]))
        self.errors = errors


def export(
    session: Session,
    settings: Settings,
    start: datetime,
    end: datetime,
    directory: Path,
    *,
    ground: str = "illegal",
    synthetic: frozenset[str] = frozenset(),
) -> Export:
    """Write `batch-NNNNN.json` files (`{"statements": [...]}`, at most 100 each) into
    `directory`, each validated first; raises InvalidStatements (and writes nothing more) on
    the first batch that breaks a rule."""
    directory.mkdir(parents=True, exist_ok=True)
    files, count = [], 0
    for n, batch in enumerate(
        statement_batches(session, settings, start, end, ground=ground, synthetic=synthetic), 1
    ):
        errors = validate_batch(batch)
        if errors:
            raise InvalidStatements(errors)
        path = directory / f"batch-{n:05d}.json"
        path.write_text(json.dumps({"statements": batch}, indent=1, ensure_ascii=False))
        files.append(path)
        count += len(batch)
    return Export(files, count)

"""Intake stores a valid request with its clock, encrypted contact and a hashed secret, and
stores nothing at all for an invalid one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from rescind.cases.errors import InvalidRequest
from rescind.cases.identifiers import ALPHABET
from rescind.cases.intake import submit_request
from rescind.cases.validation import ItemInput
from rescind.config import Settings
from rescind.security.crypto import Sealer
from rescind.security.passwords import verify_secret
from rescind.store import Database
from rescind.store.models import AuditEvent, Job, Request, RequestItem
from tests.cases.support import valid_input


def _count(database: Database, model: type) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_valid_request_is_stored_with_deadline_and_sealed_contact(
    settings: Settings, database: Database
) -> None:
    with database.session() as session:
        sub = submit_request(session, settings, valid_input())
    number = sub.case_number
    assert number.startswith("RSC-") and len(number) == 18
    assert all(c in ALPHABET for c in number[4:].replace("-", ""))
    with database.session() as session:
        stored = session.scalars(select(Request)).one()
        assert stored.status == "received"
        assert stored.deadline_at - stored.received_at == timedelta(hours=48)
        assert b"alex@example.org" not in stored.requester_email_enc
        assert Sealer(settings).open(stored.requester_email_enc) == "alex@example.org"
        assert stored.secret_hash.startswith("$argon2id$")
        assert verify_secret(stored.secret_hash, sub.secret)
        assert [i.pdq for i in stored.items] == [["f" * 16 + "0" * 48]]
        assert [e.kind for e in stored.events] == ["received"]
        audit = session.scalars(select(AuditEvent)).one()
        assert audit.action == "request.create" and "alex" not in str(audit.detail)
        job = session.scalars(select(Job)).one()
        assert job.kind == "email.requester" and "alex" not in str(job.payload)


def test_regulator_notice_has_a_24_hour_clock(settings: Settings, database: Database) -> None:
    with database.session() as session:
        sub = submit_request(session, settings, valid_input(channel="regulator"))
        assert sub.request.deadline_at - sub.request.received_at == timedelta(hours=24)


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"signature": None}, "signature", "required"),
        ({"good_faith_statement": None}, "good_faith_statement", "required"),
        ({"email": None}, "requester.email", "required"),
        ({"email": "not-an-email"}, "requester.email", "invalid_email"),
        ({"name": None}, "requester.name", "required"),
        ({"items": []}, "items", "items_required"),
        ({"items": [ItemInput(url="javascript:alert(1)")]}, "items[0].url", "invalid_url"),
        ({"items": [ItemInput(pdq=["abc"])]}, "items[0].pdq", "invalid_pdq"),
        ({"items": [ItemInput(md5="z" * 32)]}, "items[0].md5", "invalid_md5"),
        ({"items": [ItemInput(sha256="a" * 63)]}, "items[0].sha256", "invalid_sha256"),
        ({"name": "<script>alert(1)</script>"}, "requester.name", "markup"),
        ({"signature": "x" * 201}, "signature", "too_long"),
        ({"signed_on": "2001-01-01"}, "signed_on", "date_not_today"),
        ({"representative": None}, "requester.representative", "required"),
    ],
)
def test_each_missing_or_bad_element_is_named_and_nothing_is_stored(
    settings: Settings, database: Database, changes: dict[str, object], field: str, code: str
) -> None:
    with pytest.raises(InvalidRequest) as caught, database.session() as session:
        submit_request(session, settings, valid_input(**changes))
    assert (field, code) in [(e.field, e.code) for e in caught.value.errors]
    for model in (Request, RequestItem, AuditEvent, Job):
        assert _count(database, model) == 0

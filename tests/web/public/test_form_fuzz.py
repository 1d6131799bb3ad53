"""Arbitrary posts to the public form never crash it, and store a request only when it is valid."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from rescind.config import Settings
from rescind.store import Database
from rescind.web import create_app
from tests.web.public.support import stored_rows, tokens_of, valid_form

FIELDS = [
    "requester.representative",
    "items[0].url",
    "items[0].content_id",
    "items[0].pdq",
    "items[0].md5",
    "items[0].sha256",
    "items[1].url",
    "items[25].url",
    "items[x].url",
    "good_faith_statement",
    "supporting_info",
    "requester.name",
    "requester.email",
    "requester.phone",
    "signature",
    "signed_on",
    "website",
    "lang",
]
values = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            "",
            "yes",
            "self",
            "<b>x</b>",
            "'; DROP TABLE requests; --",
            "\x00",
            "https://example.org/a",
            "a" * 64,
            "é" * 300,
            "\r\nBcc: x@y.z",
        ]
    ),
)


@pytest.fixture
def roomy(settings: Settings, database: Database) -> Iterator[TestClient]:
    """A client whose submission limit the examples cannot reach."""
    relaxed = settings.model_copy(update={"submissions_per_ip_per_hour": 1000})
    with TestClient(create_app(relaxed, database=database)) as client:
        yield client


@examples(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(changes=st.dictionaries(st.sampled_from(FIELDS), values, max_size=6))
def test_any_post_gets_a_page_and_only_valid_ones_are_stored(
    roomy: TestClient, database: Database, changes: dict[str, str]
) -> None:
    before = stored_rows(database)["requests"]
    token = tokens_of(roomy.get("/").text)
    page = roomy.post("/", data=valid_form(token, **changes))
    assert page.status_code in (200, 400, 422)
    after = stored_rows(database)["requests"]
    assert after == before + (1 if page.status_code == 200 else 0)
    if page.status_code != 200:
        assert "error-summary" in page.text

"""Fuzz the JSON API: any body gets an answer or a clear problem+json error, never a server
error, and a refused request records nothing."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from rescind.platform.apikeys import SCOPES, create_api_key
from rescind.store import Database
from rescind.store.models import Content, Request
from tests.web.api.platform_fixtures import Api

FUZZ = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=80)
)
json_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
hex64 = st.text("0123456789abcdefABCDEF", min_size=60, max_size=68)
pdq_like = hex64 | st.fixed_dictionaries(
    {"hash": hex64}, optional={"quality": json_values | st.integers(-5, 105), "t": json_values}
)
check_bodies = st.fixed_dictionaries(
    {},
    optional={
        "content_id": st.text(max_size=300) | json_values,
        "url": st.text(max_size=100) | st.just("https://example.com/a") | json_values,
        "pdq": st.lists(pdq_like | json_values, max_size=4) | json_values,
        "md5": st.text("0123456789abcdef", min_size=30, max_size=34) | json_values,
        "sha256": hex64 | json_values,
        "video_pdq": st.lists(pdq_like, max_size=4) | json_values,
        "extra": json_values,
    },
)
request_bodies = st.fixed_dictionaries(
    {},
    optional={
        "language": st.sampled_from(["en", "fr", "xx", ""]) | json_values,
        "channel": st.sampled_from(["api", "regulator", "web"]) | json_values,
        "requester": st.fixed_dictionaries(
            {},
            optional={
                "name": st.text(max_size=40) | json_values,
                "email": st.sampled_from(["a@example.com", "not-an-email"]) | json_values,
                "phone": json_values,
                "representative": json_values,
            },
        )
        | json_values,
        "signature": st.text(max_size=40) | json_values,
        "good_faith_statement": st.text(max_size=40) | json_values,
        "supporting_info": json_values,
        "items": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "url": st.text(max_size=60) | st.just("https://example.com/x"),
                    "content_id": json_values,
                    "pdq": st.lists(hex64, max_size=2) | json_values,
                    "md5": json_values,
                },
            )
            | json_values,
            max_size=3,
        )
        | json_values,
    },
)


def _count(database: Database, model: Any) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _bearer(database: Database, scopes: frozenset[str]) -> dict[str, str]:
    """Headers carrying a new API key with `scopes`."""
    with database.session() as session:
        _, key = create_api_key(session, "fuzz", scopes)
    return {"Authorization": f"Bearer {key}"}


def _assert_refused_clearly(response: Any) -> bool:
    """Never a server error; an error is a 4xx problem+json with a title. True if refused."""
    assert response.status_code < 500, response.text
    if response.status_code < 400:
        return False
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["title"]
    return True


def _assert_answered(response: Any, ok: int) -> bool:
    """The response is a success (`ok`) or a 4xx problem+json with a title; True if ok."""
    if _assert_refused_clearly(response):
        return False
    assert response.status_code == ok
    return True


def test_any_check_body_gets_an_answer_or_a_clear_error(api: Api, database: Database) -> None:
    @FUZZ
    @given(check_bodies)
    def run(body: dict[str, Any]) -> None:
        before = _count(database, Content)
        response = api.client.post("/v1/check", json=body, headers=api.check)
        if _assert_answered(response, 200):
            assert response.json()["verdict"] in ("allow", "review", "block")
        else:
            assert _count(database, Content) == before

    run()


def test_any_request_body_gets_an_answer_or_a_clear_error(api: Api, database: Database) -> None:
    headers = _bearer(database, frozenset({"requests:write"}))

    @FUZZ
    @given(request_bodies)
    def run(body: dict[str, Any]) -> None:
        before = _count(database, Request)
        response = api.client.post("/v1/requests", json=body, headers=headers)
        if not _assert_answered(response, 201):
            assert _count(database, Request) == before

    run()


@FUZZ
@given(
    st.binary(max_size=200) | st.text(max_size=200).map(str.encode),
    st.sampled_from(["application/json", "text/plain", "multipart/form-data", ""]),
)
def test_any_raw_body_gets_an_answer_or_a_clear_error(
    api: Api, body: bytes, content_type: str
) -> None:
    for path, headers in (("/v1/check", api.check), ("/v1/content", api.content)):
        response = api.client.post(
            path, content=body, headers={**headers, "content-type": content_type}
        )
        _assert_refused_clearly(response)


path_names = st.sampled_from(
    ["ncii", "allow", "nope", "ncii%00", "..%2F..", "%F0%9F%92%A5", "a" * 300]
)
json_routes = st.sampled_from(
    [
        ("POST", "/v1/content"),
        ("POST", "/v1/banks"),
        ("PATCH", "/v1/banks/{name}"),
        ("POST", "/v1/banks/{name}/entries"),
        ("POST", "/v1/requests/{name}/decision"),
    ]
)
plausible = st.fixed_dictionaries(
    {},
    optional={
        "name": st.text(max_size=40) | json_values,
        "kind": st.sampled_from(["ncii", "allow", "review", ""]) | json_values,
        "action": st.sampled_from(["block", "review"]) | json_values,
        "threshold": st.integers(-5, 300) | json_values,
        "enabled": json_values,
        "outcome": st.sampled_from(["remove", "reject", "need_info"]) | json_values,
        "reason": st.text(max_size=40) | json_values,
        "items": st.lists(check_bodies | json_values, max_size=3) | json_values,
        "entries": st.lists(check_bodies | json_values, max_size=3) | json_values,
        "pdq": st.lists(pdq_like, max_size=2) | json_values,
        "md5": json_values,
        "content_id": json_values,
    },
)


def test_any_body_on_any_json_route_gets_an_answer_or_a_clear_error(
    api: Api, database: Database
) -> None:
    """Every JSON route, with a key holding every scope, arbitrary path names and bodies."""
    headers = _bearer(database, frozenset(SCOPES))

    @FUZZ
    @given(json_routes, path_names, plausible | json_values)
    def run(route: tuple[str, str], name: str, body: Any) -> None:
        method, template = route
        response = api.client.request(
            method, template.format(name=name), json=body, headers=headers
        )
        _assert_refused_clearly(response)

    run()


def test_any_query_on_the_read_routes_gets_an_answer_or_a_clear_error(
    api: Api, database: Database
) -> None:
    headers = _bearer(database, frozenset(SCOPES))

    @FUZZ
    @given(
        st.sampled_from(["/v1/actions", "/v1/banks", "/v1/requests/{name}", "/v1/content/{name}"]),
        path_names,
        st.dictionaries(
            st.sampled_from(["status", "after_id", "limit", "x"]),
            st.text(max_size=12) | st.integers(-(2**70), 2**70).map(str),
            max_size=3,
        ),
    )
    def run(route: str, name: str, params: dict[str, str]) -> None:
        method = "DELETE" if route.startswith("/v1/content") else "GET"
        response = api.client.request(
            method, route.format(name=name), params=params, headers=headers
        )
        _assert_refused_clearly(response)

    run()


def test_a_control_character_in_an_id_or_url_is_refused_on_both_backends(
    api: Api, database: Database
) -> None:
    """PostgreSQL cannot store a NUL character in a text and SQLite would store it as given:
    both refuse control characters in ids and URLs alike, name the field, and store nothing.
    A bank name with one names no bank."""
    headers = _bearer(database, frozenset(SCOPES))
    request = {
        "language": "en",
        "channel": "api",
        "requester": {"name": "A B", "email": "a@example.com", "representative": False},
        "signature": "A B",
        "good_faith_statement": "I believe in good faith that this shows me without consent.",
        "items": [{"url": "https://example.com/\x00"}],
    }
    registered = {"items": [{"content_id": "kept", "pdq": ["ef" * 32]}]}
    assert api.client.post("/v1/content", json=registered, headers=headers).status_code == 200
    pdq = ["ab" * 32]
    calls = [
        ("POST", "/v1/requests", request, Request, 422, "items[0].url"),
        ("POST", "/v1/check", {"content_id": "a\x00", "pdq": pdq}, Content, 422, "content_id"),
        ("POST", "/v1/check", {"content_id": "a", "url": "https://x.example/\x7f", "pdq": pdq},
         Content, 422, "url"),
        ("POST", "/v1/content", {"items": [{"content_id": "b\x01", "pdq": pdq}]},
         Content, 422, "items.0.content_id"),
        ("POST", "/v1/content", {"items": [{"content_id": "c", "url": "https://x.example/\n/",
         "pdq": pdq}]}, Content, 422, "items.0.url"),
        ("DELETE", "/v1/content/kept%00", None, Content, 422, "content_id"),
        ("PATCH", "/v1/banks/ncii%00", {"enabled": False}, None, 404, None),
    ]  # fmt: skip
    for method, path, body, model, status, field in calls:
        before = _count(database, model) if model is not None else 0
        response = api.client.request(method, path, json=body, headers=headers)
        assert _assert_refused_clearly(response)
        assert response.status_code == status, (path, response.text)
        if field is not None:
            assert field in [e["field"] for e in response.json()["errors"]], response.text
        if model is not None:
            assert _count(database, model) == before
    # the refused DELETE forgot nothing: the item registered above is still checkable by id
    assert api.client.delete("/v1/content/kept", headers=headers).status_code == 204

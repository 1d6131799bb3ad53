"""Schemathesis against our own OpenAPI document: every operation of `/openapi.json`, valid and
invalid inputs generated from its schema, sent in-process with a key holding every scope.

Checks: never a server error; every answer's status code, content type and body are the ones
the document declares. Shared by the short run in the test suite (tests/web/api/
test_schemathesis.py) and the long run of `make reliability` (tests/reliability/schema_fuzz.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass
class FuzzReport:
    """What a run sent and what failed (one entry per operation that failed)."""

    calls: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)


@contextmanager
def loaded_schema(app: Any) -> Iterator[schemathesis.BaseSchema]:
    """The app's OpenAPI document; the app's lifespan (started by schemathesis to serve it) is
    shut down on the way out, so its runtime threads and database connections end with it."""
    try:
        yield schemathesis.openapi.from_asgi("/openapi.json", app)
    finally:
        asgi.shutdown_lifespans()


def fuzz(
    schema: schemathesis.BaseSchema,
    headers: dict[str, str],
    *,
    max_examples: int,
    seed: int | None = None,
    selected: Callable[[str], bool] = lambda label: " /v1/" in label,
) -> FuzzReport:
    """Run every operation `selected` by its label ("POST /v1/check") with `max_examples`
    generated cases (valid and invalid); returns the report instead of raising, so that one
    failing operation does not hide the others."""
    report = FuzzReport()
    for result in schema.get_all_operations():
        operation = result.ok()
        if not selected(operation.label):
            continue
        strategy = st.one_of(
            operation.as_strategy(schemathesis.GenerationMode.POSITIVE),
            operation.as_strategy(schemathesis.GenerationMode.NEGATIVE),
        )

        @settings(
            max_examples=max_examples,
            deadline=None,
            database=None,
            derandomize=seed is None,
            suppress_health_check=list(HealthCheck),
            print_blob=False,
        )
        @given(strategy)
        def run(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            report.calls += 1
            report.statuses[response.status_code] = report.statuses.get(response.status_code, 0) + 1
            case.validate_response(response, checks=CHECKS, headers=headers)

        if seed is not None:
            run = hypothesis_seed(seed)(run)
        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # check failures, reported per operation
            report.failures[operation.label] = f"{type(exc).__name__}: {exc}"[:4000]
    return report

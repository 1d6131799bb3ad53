"""Delivering actions as signed webhooks, with retries for days and one log row per attempt.

Each POST carries `Rescind-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
An attempt runs as a job (`action.deliver`) holding the action's row lock (`FOR UPDATE SKIP
LOCKED` on PostgreSQL), so two workers never deliver one action at the same time; a failed
attempt schedules the next one with exponential backoff and jitter until
`webhook_retry_hours` have passed. A 2xx from every endpoint settles the action.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import timedelta
from functools import partial
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from rescind.config import Settings
from rescind.jobs.queue import backoff_delay
from rescind.jobs.runner import JobRegistry
from rescind.platform.actions import (
    DELIVER_JOB,
    DELIVERED,
    FAILED,
    PENDING,
    schedule_delivery,
    settle,
)
from rescind.platform.endpoints import Endpoint, active_endpoints
from rescind.store.columns import utcnow
from rescind.store.models import Action, ActionAttempt, Request

log = logging.getLogger("rescind.webhooks")

SIGNATURE_HEADER = "Rescind-Signature"
BASE_DELAY_S = 2.0
MAX_DELAY_S = 3600.0
NO_ENDPOINT_RECHECK_S = 3600.0


def signature_header(secrets: tuple[str, ...] | list[str], body: bytes, t: int) -> str:
    """`t=<t>,v1=<hmac>` with one `v1` per secret."""
    signed = f"{t}.".encode() + body
    parts = [f"t={t}"]
    parts += [f"v1={hmac.new(s.encode(), signed, hashlib.sha256).hexdigest()}" for s in secrets]
    return ",".join(parts)


# Seconds before an action's next try after `attempts` failures. Half of each wait is random:
# retries of many actions spread out, yet every wait is at least half its ceiling, so an
# endpoint that is down for long is not hammered.
retry_delay = partial(backoff_delay, base_s=BASE_DELAY_S, cap_s=MAX_DELAY_S, jitter=0.5)


def event_body(action: Action, case_number: str | None) -> bytes:
    """The JSON body of an action's webhook (identical on every retry)."""
    event: dict[str, Any] = {
        "id": action.id,
        "type": action.type,
        "content_id": action.content_id,
        "case_number": case_number,
        "idempotency_key": action.idempotency_key,
        "created_at": action.created_at.isoformat(),
    }
    return json.dumps(event, separators=(",", ":"), sort_keys=True).encode()


def _post(client: httpx.Client, endpoint: Endpoint, body: bytes) -> tuple[int | None, str | None]:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Rescind-Webhooks/1",
        SIGNATURE_HEADER: signature_header(endpoint.secrets, body, int(time.time())),
    }
    try:
        response = client.post(endpoint.url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return None, type(exc).__name__
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}"


def deliver_action(
    session: Session,
    settings: Settings,
    payload: dict[str, Any],
    *,
    client: httpx.Client | None = None,
) -> None:
    """Job handler: one delivery attempt of an action to every endpoint not yet acknowledged."""
    action = session.scalar(
        select(Action).where(Action.id == payload["action_id"]).with_for_update(skip_locked=True)
    )
    if action is None or action.status != PENDING:
        return  # settled already, or another worker is delivering it right now
    endpoints = active_endpoints(session, settings)
    if not endpoints:
        # Manual mode ("mark done"): look again later in case an endpoint gets configured.
        action.next_attempt_at = utcnow() + timedelta(seconds=NO_ENDPOINT_RECHECK_S)
        schedule_delivery(session, action)
        return
    acked = set(
        session.scalars(
            select(ActionAttempt.endpoint).where(
                ActionAttempt.action_id == action.id,
                ActionAttempt.status_code >= 200,
                ActionAttempt.status_code < 300,
            )
        )
    )
    case_number = (
        session.scalar(select(Request.case_number).where(Request.id == action.request_id))
        if action.request_id is not None
        else None
    )
    body = event_body(action, case_number)
    own_client = client is None
    http = client or httpx.Client(timeout=settings.webhook_timeout_s, follow_redirects=False)
    errors = []
    try:
        for endpoint in endpoints:
            if endpoint.url in acked:
                continue
            started = time.perf_counter()
            status, error = _post(http, endpoint, body)
            session.add(
                ActionAttempt(
                    action_id=action.id,
                    endpoint=endpoint.url,
                    at=utcnow(),
                    status_code=status,
                    error=error,
                    duration_ms=int((time.perf_counter() - started) * 1000),
                )
            )
            if error:
                errors.append(error)
    finally:
        if own_client:
            http.close()
    action.attempts += 1
    if not errors:
        settle(session, action, DELIVERED)
        return
    action.last_error = "; ".join(errors)[:500]
    now = utcnow()
    if now - action.created_at > timedelta(hours=settings.webhook_retry_hours):
        action.status = FAILED
        log.warning(
            "action %s undelivered after %s attempts: giving up", action.id, action.attempts
        )
        return
    action.next_attempt_at = now + timedelta(seconds=retry_delay(action.attempts))
    schedule_delivery(session, action)


def register(registry: JobRegistry) -> None:
    """Add the delivery job to the worker's registry."""
    registry.add_handler(DELIVER_JOB, deliver_action, max_attempts=1000)

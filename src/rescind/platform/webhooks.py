"""Delivering actions as signed webhooks, with retries for days and one log row per attempt.

Each POST carries `Rescind-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
An attempt runs as a job (`action.deliver`) holding the action's row lock (`FOR UPDATE SKIP
LOCKED` on PostgreSQL), so two workers never deliver one action at the same time. A 2xx from
every endpoint marks the action delivered; a 2xx answer whose JSON body names an `outcome`
(`{"outcome": "removed"}`) confirms it as well. Any other answer body means "delivered" only:
the platform confirms later with `POST /v1/actions/{id}/done`.

Retries have one owner, the action's schedule (`attempts`, `next_attempt_at`): a failed attempt,
whatever went wrong with the POST, schedules the next one with exponential backoff and jitter
until `webhook_retry_hours` have passed. The job runner never retries a delivery job by itself
(it would add a second schedule, blind to that window). If an attempt crashes instead (the
database went away mid-delivery), its transaction rolls back and the action is left pending
with no job; the periodic `action.redeliver` task finds it and schedules it again, so every
action is still delivered at least once. A worker killed mid-delivery leaves its job running:
the runner hands it to another worker when its lease expires.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from rescind.config import Settings
from rescind.jobs import queue
from rescind.jobs.queue import backoff_delay
from rescind.jobs.runner import JobRegistry
from rescind.platform.actions import (
    DELIVER_JOB,
    PENDING,
    confirm,
    mark_delivered,
    mark_failed,
    schedule_delivery,
)
from rescind.platform.endpoints import Endpoint, active_endpoints, check_endpoint_url
from rescind.platform.errors import InvalidSignalError
from rescind.platform.statements import statements_for
from rescind.security.addresses import redact_url
from rescind.store.columns import utcnow
from rescind.store.models import Action, ActionAttempt, Job, Request
from rescind.store.statuses import ActionOutcome

log = logging.getLogger("rescind.webhooks")

SIGNATURE_HEADER = "Rescind-Signature"
BASE_DELAY_S = 2.0
MAX_DELAY_S = 3600.0
NO_ENDPOINT_RECHECK_S = 3600.0
REDELIVER_TASK = "action.redeliver"
REDELIVER_EVERY_S = 60.0
INTERRUPTED = "delivery interrupted"


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


def event_body(
    action: Action, case_number: str | None, statement: dict[str, Any] | None = None
) -> bytes:
    """The JSON body of an action's webhook (identical on every retry), with the statement of
    reasons (DSA Art. 17) the platform passes on to the uploader."""
    event: dict[str, Any] = {
        "id": action.id,
        "type": action.type,
        "content_id": action.content_id,
        "url": action.url,
        "case_number": case_number,
        "idempotency_key": action.idempotency_key,
        "created_at": action.created_at.isoformat(),
        "statement_of_reasons": statement,
    }
    return json.dumps(event, separators=(",", ":"), sort_keys=True).encode()


MAX_ANSWER_BYTES = 4096


def answer_outcome(response: httpx.Response) -> tuple[ActionOutcome | None, str | None]:
    """The outcome and note a 2xx answer's JSON body reports; (None, None) for any other body
    (empty, not JSON, too long, no valid outcome): the action is then delivered only."""
    body = response.content
    if not body or len(body) > MAX_ANSWER_BYTES:
        return None, None
    try:
        data = json.loads(body)
        outcome = ActionOutcome(str(data["outcome"]))
    except (ValueError, TypeError, KeyError):
        return None, None
    note = data.get("note")
    return outcome, note if isinstance(note, str) else None


def _post(
    client: httpx.Client, endpoint: Endpoint, body: bytes
) -> tuple[int | None, str | None, tuple[ActionOutcome | None, str | None]]:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Rescind-Webhooks/1",
        SIGNATURE_HEADER: signature_header(endpoint.secrets, body, int(time.time())),
    }
    try:
        response = client.post(endpoint.url, content=body, headers=headers)
    except Exception as exc:
        # Anything the POST raises (not only httpx.HTTPError: a malformed endpoint URL raises
        # InvalidURL) is a failed attempt for the action's schedule, not a crash of the job.
        return None, type(exc).__name__, (None, None)
    if 200 <= response.status_code < 300:
        return response.status_code, None, answer_outcome(response)
    return response.status_code, f"HTTP {response.status_code}", (None, None)


UNSAFE_ENDPOINT = "UnsafeEndpoint"


def _guarded_post(
    settings: Settings, client: httpx.Client, endpoint: Endpoint, body: bytes
) -> tuple[int | None, str | None, tuple[ActionOutcome | None, str | None]]:
    """`_post`, unless the endpoint's host now resolves to an address we must not contact
    (checked at each delivery: DNS can change after the endpoint was added)."""
    try:
        check_endpoint_url(settings, endpoint.url)
    except InvalidSignalError:
        return None, UNSAFE_ENDPOINT, (None, None)
    return _post(client, endpoint, body)


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
    statement = statements_for(session, settings, [action])[action.id].as_json()
    body = event_body(action, case_number, statement)
    own_client = client is None
    http = client or httpx.Client(timeout=settings.webhook_timeout_s, follow_redirects=False)
    errors = []
    answers: list[tuple[ActionOutcome, str | None]] = []
    try:
        for endpoint in endpoints:
            # attempts name the endpoint without the credentials its URL may carry
            shown = redact_url(endpoint.url)
            if shown in acked or endpoint.url in acked:
                continue
            started = time.perf_counter()
            status, error, (outcome, note) = _guarded_post(settings, http, endpoint, body)
            if error == UNSAFE_ENDPOINT:
                log.warning("action %s: endpoint %s refused: unsafe address", action.id, shown)
            if outcome is not None:
                answers.append((outcome, note))
            session.add(
                ActionAttempt(
                    action_id=action.id,
                    endpoint=shown,
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
    if answers:
        # The platform said what it did: that stands even if another endpoint failed.
        confirm(session, action, answers[0][0], note=answers[0][1])
        return
    if not errors:
        mark_delivered(session, action)
        return
    retry_later(session, settings, action, "; ".join(errors))


def retry_later(session: Session, settings: Settings, action: Action, error: str) -> None:
    """After a failed attempt: schedule the next one, or give up once the retry window of
    `webhook_retry_hours` (counted from the action's creation) has passed."""
    action.last_error = error[:500]
    now = utcnow()
    if now - action.created_at > timedelta(hours=settings.webhook_retry_hours):
        mark_failed(session, action)
        log.warning(
            "action %s undelivered after %s attempts: giving up", action.id, action.attempts
        )
        return
    action.next_attempt_at = now + timedelta(seconds=retry_delay(action.attempts))
    schedule_delivery(session, action)


def redeliver_orphans(session: Session, settings: Settings, now: datetime) -> None:
    """Periodic task: schedule again every pending action whose delivery job crashed.

    A crashed attempt rolled back, so the action is still pending but no job will deliver it
    any more. Its POST may have gone out, so it counts as a failed attempt."""
    live = session.scalars(
        select(Job.unique_key).where(
            Job.kind == DELIVER_JOB, Job.status.in_((queue.QUEUED, queue.RUNNING))
        )
    )
    # Delivery jobs are keyed `action.deliver:<action id>:...` (see `schedule_delivery`).
    scheduled = {int(key.split(":")[1]) for key in live if key}
    due = select(Action).where(Action.status == PENDING, Action.next_attempt_at <= now)
    for action in session.scalars(due.order_by(Action.id)):
        if action.id in scheduled:
            continue
        action.attempts += 1
        log.warning("action %s: its delivery job crashed; retrying on schedule", action.id)
        retry_later(session, settings, action, INTERRUPTED)


def register(registry: JobRegistry) -> None:
    """Add the delivery job and its crash recovery to the worker's registry."""
    # One attempt per job: the action's schedule owns the retries (see the module docstring).
    registry.add_handler(DELIVER_JOB, deliver_action, max_attempts=1)
    registry.add_periodic(REDELIVER_TASK, REDELIVER_EVERY_S, redeliver_orphans)

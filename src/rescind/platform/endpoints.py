"""Webhook endpoints: `RESCIND_WEBHOOK_URL` plus rows added by operators, secrets sealed at rest.

A secret setting may hold several comma-separated secrets during a rotation: every one signs
each delivery (one `v1=` per secret), so receivers can switch at their own pace.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from rescind.config import Settings
from rescind.platform.actions import deliver_waiting_now
from rescind.platform.errors import InvalidSignalError
from rescind.security.addresses import UnsafeAddress, check_http_url, redact_url
from rescind.security.crypto import Sealer
from rescind.store.models import WebhookEndpoint

# Secrets stored before endpoints used the shared Sealer are unversioned blobs under a key and
# associated data derived from this label; they still open (see `Sealer`), so no migration
# (which could not read the secret key anyway) has to rewrite them.
_LEGACY_LABEL = b"rescind webhook endpoint secrets"
_SETTING = "RESCIND_WEBHOOK_ALLOW_PRIVATE"


@dataclass(frozen=True)
class Endpoint:
    """Where to POST actions, and the secrets signing them."""

    url: str
    secrets: tuple[str, ...]


def split_secrets(value: str) -> tuple[str, ...]:
    """`new,old` -> ("new", "old")."""
    return tuple(s.strip() for s in value.split(",") if s.strip())


def secret_sealer(settings: Settings) -> Sealer:
    """The sealer of endpoint secrets (opens the legacy format too)."""
    return Sealer(settings, "webhook-endpoint", legacy_label=_LEGACY_LABEL)


def add_endpoint(
    session: Session, settings: Settings, url: str, secret: str | None = None
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it and its secret (generated when not given). Actions that
    waited for an endpoint are scheduled to go out at once."""
    if len(url) > 2048:
        raise InvalidSignalError("the URL has at most 2048 characters", field="url")
    url = url.strip()
    check_endpoint_url(settings, url)
    secret = secret or secrets.token_urlsafe(32)
    row = WebhookEndpoint(url=url, secret_enc=secret_sealer(settings).seal(secret), active=True)
    session.add(row)
    session.flush()
    deliver_waiting_now(session)
    return row, secret


def check_endpoint_url(settings: Settings, url: str) -> None:
    """Refuse (InvalidSignalError) a URL we must not POST to: not http(s), a link-local or
    metadata address, or a private or loopback one unless `webhook_allow_private`. Resolves
    the host: called when an endpoint is added and before every delivery (DNS can change). A
    name that does not resolve passes (a POST to it cannot connect)."""
    try:
        check_http_url(
            url,
            allow_private=settings.webhook_allow_private,
            setting=_SETTING,
            unresolved_ok=True,
        )
    except UnsafeAddress as exc:
        raise InvalidSignalError(f"{exc}: {redact_url(url)}", field="url") from None


def list_endpoints(session: Session) -> list[WebhookEndpoint]:
    """Every registered endpoint (not the one from settings)."""
    return list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def active_endpoints(session: Session, settings: Settings) -> list[Endpoint]:
    """Where each action is delivered: the settings' endpoint and every active row."""
    found: list[Endpoint] = []
    if settings.webhook_url and settings.webhook_secret:
        found.append(
            Endpoint(
                settings.webhook_url, split_secrets(settings.webhook_secret.get_secret_value())
            )
        )
    sealer = secret_sealer(settings)
    for row in session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.active.is_(True))):
        found.append(Endpoint(row.url, (sealer.open(row.secret_enc),)))
    return found

"""Test support for removal requests: a valid request, a local SMTP server, a worker run."""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from rescind.cases.validation import ItemInput, RequestInput
from rescind.config import Settings
from rescind.jobs import Worker
from rescind.services import build_job_registry
from rescind.store import Database
from tests.pg import free_port

PDQ = "f" * 16 + "0" * 48
MD5 = "0123456789abcdef0123456789abcdef"


def valid_input(**changes: Any) -> RequestInput:
    """A complete, valid removal request (no real person, no real content)."""
    data = RequestInput(
        language="en",
        channel="public_form",
        name="Alex Example",
        email="alex@example.org",
        phone=None,
        representative=False,
        signature="Alex Example",
        signed_on=datetime.now(UTC).date().isoformat(),
        good_faith_statement="I did not consent to this being published.",
        supporting_info=None,
        items=[ItemInput(url="https://platform.example/p/123", pdq=[PDQ], md5=MD5)],
        minor="no",
    )
    for key, value in changes.items():
        setattr(data, key, value)
    return data


@dataclass
class _Inbox:
    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 OK"


class SmtpServer:
    """A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives."""

    def __init__(self) -> None:
        self.inbox = _Inbox()
        self.port = free_port()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self) -> list[EmailMessage]:
        """Every message received so far."""
        return self.inbox.messages

    def settings(self, base: Settings, **changes: Any) -> Settings:
        """`base` pointed at this server."""
        return base.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": self.port, **changes})

    def start(self) -> None:
        """Start listening."""
        self.controller.start()

    def stop(self) -> None:
        """Stop listening."""
        self.controller.stop()


def run_jobs(settings: Settings, database: Database) -> int:
    """Run every due job once, as `rescind worker` would; returns how many ran."""
    worker = Worker(settings, database, build_job_registry())
    total = 0
    while ran := worker.run_once():
        total += ran
    return total


def body_of(message: EmailMessage) -> str:
    """The plain-text body of a message."""
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]

"""Outgoing email over SMTP (smtplib), called from jobs so a failed send is retried."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from rescind.config import Settings

log = logging.getLogger("rescind.mail")


def send_email(settings: Settings, to: list[str], subject: str, body: str) -> bool:
    """Send a plain-text message; False when email is disabled (no `smtp_host`).

    Raises on any SMTP failure, so the calling job is retried with backoff.
    """
    if not settings.smtp_host:
        log.info("email disabled (RESCIND_SMTP_HOST unset); message not sent")
        return False
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.smtp_from.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_username and settings.smtp_password:
            smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
        smtp.send_message(message)
    # Recipients and bodies are never logged (requester privacy).
    log.info("email sent to %d recipient(s)", len(to))
    return True

"""Notifications: emails to the requester (in their language) and to reviewers.

Services only enqueue jobs (in their transaction); the job handlers render and send, so a
message goes out only if the change that caused it committed, and a failed send is retried.
Job payloads hold ids, never addresses; email bodies never describe the reported content.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rescind.cases.mailer import send_email
from rescind.cases.reasons import reason_text, reply_text
from rescind.config import Settings
from rescind.jobs import enqueue
from rescind.locale import N_, translations
from rescind.security.crypto import Sealer
from rescind.store.models import Appeal, Decision, Request, User
from rescind.store.statuses import OPEN_REQUEST_STATUSES, Role

REQUESTER_EMAIL = "email.requester"
REVIEWERS_EMAIL = "email.reviewers"

_SUBJECTS = {
    "received": N_("We received your removal request %(case)s"),
    "remove": N_("Request %(case)s: the removal is under way"),
    "removed": N_("Request %(case)s: the platform confirmed the removal"),
    "reject": N_("Request %(case)s: we could not act on your request"),
    "need_info": N_("Request %(case)s: we need more information"),
    "withdrawn": N_("Request %(case)s was withdrawn"),
    "appeal_upheld": N_("Request %(case)s: we are reviewing your request again"),
    "appeal_dismissed": N_("Request %(case)s: the decision stands after another review"),
    "item_appeal_upheld": N_("Request %(case)s: an item you reported will be removed"),
    "item_appeal_dismissed": N_(
        "Request %(case)s: the decision on an item stands after another review"
    ),
}
_BODIES = {
    "received": N_(
        "We received your request to remove intimate images shared without consent.\n\n"
        "Case number: %(case)s\n"
        "We will act on it by: %(deadline)s (UTC)\n\n"
        "To see its status, add information or withdraw it, go to %(status_url)s and enter "
        "your case number and the secret shown when you filed. We cannot send the secret again."
    ),
    "remove": N_(
        "We reviewed your request and decided to remove the content you reported. The removal "
        "is under way, and we also look for identical copies. The status page shows when the "
        "platform confirms each removal."
    ),
    "removed": N_(
        "The platform confirmed that the content you reported was removed. The status page "
        "shows what happened to each item."
    ),
    "reject": N_("We reviewed your request and could not act on it.\n\nReason: %(reason)s"),
    "need_info": N_(
        "We are reviewing your request and need more information to act on it. Please add it "
        "on the status page. The deadline does not change: we keep working on your request."
    ),
    "withdrawn": N_(
        "Your request was withdrawn as you asked. If you need help again, you can file a new "
        "request at any time."
    ),
    "appeal_upheld": N_(
        "You asked for another review of our decision. Another reviewer, who did not take the "
        "first decision, agreed to look at your request again: the review starts again, and "
        "the status page shows its progress."
    ),
    "appeal_dismissed": N_(
        "You asked for another review of our decision. Another reviewer, who did not take the "
        "first decision, looked at your request again and the decision stands."
    ),
    "item_appeal_upheld": N_(
        "You asked for another review of our decision not to remove one item of your request. "
        "Another reviewer, who did not take the first decision, agreed with you: we asked the "
        "platform to remove it. The status page shows when the platform confirms it."
    ),
    "item_appeal_dismissed": N_(
        "You asked for another review of our decision not to remove one item of your request. "
        "Another reviewer, who did not take the first decision, looked at it again and the "
        "decision stands."
    ),
}
_REVIEWER_MESSAGE = N_("Message from our team:\n\n%(message)s")
_FOOTER = N_(
    "Status page: %(status_url)s\n\nIf you did not file this request, you can ignore this message."
)


def notify_requester(
    session: Session, request: Request, kind: str, *, decision: Decision | None = None
) -> None:
    """Queue an email to the requester about `kind` (received, remove, reject, need_info...)."""
    payload: dict[str, Any] = {"request_id": request.id, "kind": kind}
    if decision is not None:
        payload["decision_id"] = decision.id
    key = f"{REQUESTER_EMAIL}:{request.id}:{kind}:{decision.id if decision else 0}"
    enqueue(session, REQUESTER_EMAIL, payload, unique_key=key)


def notify_requester_of_appeal(session: Session, request: Request, appeal: Appeal) -> None:
    """Queue an email telling the requester how their appeal was decided, with the reason."""
    kind = f"{'item_' if appeal.item_id is not None else ''}appeal_{appeal.status}"
    enqueue(
        session,
        REQUESTER_EMAIL,
        {"request_id": request.id, "kind": kind, "appeal_id": appeal.id},
        unique_key=f"{REQUESTER_EMAIL}:{request.id}:{kind}:appeal-{appeal.id}",
    )


def notify_reviewers(session: Session, request: Request, risk_level: int) -> None:
    """Queue an email to active reviewers and admins: the case risks missing its deadline."""
    enqueue(
        session,
        REVIEWERS_EMAIL,
        {"request_id": request.id, "risk_level": risk_level},
        unique_key=f"{REVIEWERS_EMAIL}:{request.id}:{risk_level}",
    )


def notify_reviewers_child_safety(session: Session, request: Request) -> None:
    """Queue an email to active reviewers and admins at once: the case may concern child
    sexual abuse material (it is first in the queue, on a shorter clock)."""
    enqueue(
        session,
        REVIEWERS_EMAIL,
        {"request_id": request.id, "reason": "child_safety"},
        unique_key=f"{REVIEWERS_EMAIL}:{request.id}:child_safety",
    )


def render_requester_email(
    settings: Settings,
    request: Request,
    kind: str,
    decision: Decision | None,
    *,
    message: str | None = None,
) -> tuple[str, str]:
    """Subject and body of a requester email, in the request's language."""
    t = translations(request.language)
    status_url = f"{settings.public_base_url.rstrip('/')}/status"
    params = {
        "case": request.case_number,
        "deadline": request.deadline_at.strftime("%Y-%m-%d %H:%M"),
        "status_url": status_url,
        "reason": reason_text(t, decision.reason_code if decision else None),
    }
    subject = t.gettext(_SUBJECTS[kind]) % params
    parts = [t.gettext(_BODIES[kind]) % params]
    if decision is not None and (decision.reply_code or decision.message_to_requester):
        said = [reply_text(t, decision.reply_code), decision.message_to_requester or ""]
        joined = "\n\n".join(s for s in said if s)
        parts.append(t.gettext(_REVIEWER_MESSAGE) % {"message": joined})
    elif message:  # an appeal's reason, in the reviewer's words
        parts.append(t.gettext(_REVIEWER_MESSAGE) % {"message": message})
    parts.append(t.gettext(_FOOTER) % params)
    return subject, "\n\n".join(parts) + "\n"


def send_requester_email(session: Session, settings: Settings, payload: dict[str, Any]) -> None:
    """Job handler: render and send one requester email."""
    request = session.get(Request, int(payload["request_id"]))
    if request is None or request.contact_purged_at is not None:
        return  # contact details erased by retention: nobody to write to
    decision = (
        session.get(Decision, int(payload["decision_id"])) if "decision_id" in payload else None
    )
    appeal = session.get(Appeal, int(payload["appeal_id"])) if "appeal_id" in payload else None
    subject, body = render_requester_email(
        settings,
        request,
        str(payload["kind"]),
        decision,
        message=appeal.reason if appeal is not None else None,
    )
    email = Sealer(settings).open(request.requester_email_enc)
    send_email(settings, [email], subject, body)


def send_reviewers_email(session: Session, settings: Settings, payload: dict[str, Any]) -> None:
    """Job handler: tell reviewers a case is at risk (case number and time left only)."""
    request = session.get(Request, int(payload["request_id"]))
    if request is None or request.status not in OPEN_REQUEST_STATUSES:
        return
    recipients = list(
        session.scalars(
            select(User.email).where(
                User.active.is_(True),
                User.role.in_((Role.ADMIN, Role.REVIEWER)),
                User.email.is_not(None),
            )
        )
    )
    if not recipients:
        return
    t = translations("en", "console")
    url = f"{settings.public_base_url.rstrip('/')}/console/cases/{request.case_number}"
    deadline = request.deadline_at.strftime("%Y-%m-%d %H:%M")
    if payload.get("reason") == "child_safety":
        subject = t.gettext("[Rescind] Case %(case)s may concern a minor: review it first") % {
            "case": request.case_number
        }
        body = t.gettext(
            "The requester said the person in case %(case)s was, or may have been, under 18 "
            "when the imagery was made (possible child sexual abuse material).\n"
            "It is first in the queue and must be handled by %(deadline)s UTC.\n\n"
            "Open it: %(url)s\n"
        ) % {"case": request.case_number, "deadline": deadline, "url": url}
        send_email(settings, [r for r in recipients if r], subject, body)
        return
    level = int(payload["risk_level"])
    subject = t.gettext("[Rescind] Case %(case)s is at risk of missing its deadline") % {
        "case": request.case_number
    }
    body = t.gettext(
        "Case %(case)s (channel %(channel)s) must be handled by %(deadline)s UTC.\n"
        "Escalation level: %(level)s of 2.\n\nOpen it: %(url)s\n"
    ) % {
        "case": request.case_number,
        "channel": request.channel,
        "deadline": request.deadline_at.strftime("%Y-%m-%d %H:%M"),
        "level": level,
        "url": f"{settings.public_base_url.rstrip('/')}/console/cases/{request.case_number}",
    }
    send_email(settings, [r for r in recipients if r], subject, body)

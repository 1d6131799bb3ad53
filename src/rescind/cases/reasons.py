"""Reason codes a reviewer picks when rejecting a request, the canned replies they can send the
requester, and their texts for the requester."""

from __future__ import annotations

import gettext
from dataclasses import dataclass

from rescind.locale import N_
from rescind.store.statuses import DecisionOutcome

REJECT_REASONS: dict[str, str] = {
    "not_found": N_("We could not find the reported content at the location given."),
    "not_intimate": N_("The reported content is not an intimate image under our policy."),
    "not_identifiable": N_(
        "The request does not show that the person depicted is you or someone you represent."
    ),
    "duplicate": N_("This content was already handled in another request."),
    "insufficient_information": N_(
        "The request did not include enough information for us to act on it."
    ),
    "other": N_("See the message from our team."),
}


def reason_text(t: gettext.NullTranslations, code: str | None) -> str:
    """The requester-facing text of a reject reason, translated (empty for no reason)."""
    if code is None or code not in REJECT_REASONS:
        return ""
    return t.gettext(REJECT_REASONS[code])


@dataclass(frozen=True)
class CannedReply:
    """A reply a reviewer picks for the person, translated into every language: for a decision
    `outcome` (reject or need_info). The reviewer may add words of their own."""

    outcome: str
    text: str


# The common replies; the codes are stored on decisions (`Decision.reply_code`): never rename.
CANNED_REPLIES: dict[str, CannedReply] = {
    "need_location": CannedReply(
        DecisionOutcome.NEED_INFO,
        N_(
            "Please tell us exactly where the content is: the full web address (URL) of each "
            "post or page, or its content id. A link to a profile or a search is not enough."
        ),
    ),
    "need_identity": CannedReply(
        DecisionOutcome.NEED_INFO,
        N_(
            "Please explain, in words, how we can tell that the content shows you (or the "
            "person you represent). Do not send us the images."
        ),
    ),
    "need_authority": CannedReply(
        DecisionOutcome.NEED_INFO,
        N_(
            "You filed for someone else. Please tell us how you are authorized to act for the "
            "person depicted, for example as their parent, guardian or lawyer."
        ),
    ),
    "need_statement": CannedReply(
        DecisionOutcome.NEED_INFO,
        N_(
            "Please confirm that the content was shared without the consent of the person "
            "depicted, and add anything that helps us understand the situation."
        ),
    ),
    "reject_not_found": CannedReply(
        DecisionOutcome.REJECT,
        N_(
            "We checked the addresses you gave and the content is not there, or no longer "
            "there. If it appears again, or you find it elsewhere on our platform, please file "
            "a new request with the new address."
        ),
    ),
    "reject_not_intimate": CannedReply(
        DecisionOutcome.REJECT,
        N_(
            "We looked at the content carefully. It does not show nudity or sexual activity, "
            "so this form cannot remove it. If it harms you in another way, please use our "
            "general reporting tools."
        ),
    ),
    "reject_not_identifiable": CannedReply(
        DecisionOutcome.REJECT,
        N_(
            "We could not confirm that the content shows you or the person you represent, so "
            "we cannot remove it through this form. If you can tell us more, please file a new "
            "request."
        ),
    ),
    "reject_duplicate": CannedReply(
        DecisionOutcome.REJECT,
        N_(
            "This content is already handled in another of your requests. You can follow it "
            "there with that request's case number and secret."
        ),
    ),
    "reject_insufficient": CannedReply(
        DecisionOutcome.REJECT,
        N_(
            "We could not act because the request is missing information we need. You are "
            "welcome to file a new request with the missing details."
        ),
    ),
}


def reply_text(t: gettext.NullTranslations, code: str | None) -> str:
    """The text of a canned reply, translated (empty for no reply)."""
    if code is None or code not in CANNED_REPLIES:
        return ""
    return t.gettext(CANNED_REPLIES[code].text)

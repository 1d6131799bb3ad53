"""Reason codes a reviewer picks when rejecting a request, and their text for the requester."""

from __future__ import annotations

import gettext

from rescind.locale import N_

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

"""Partners (peer instances whose feed we pull) and grants (which of our banks an `exchange`
API key may read). Partner API keys are sealed at rest; only their names appear anywhere."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from rescind.config import Settings
from rescind.exchange.errors import PartnerError
from rescind.exchange.identity import decode_public_key_bytes
from rescind.exchange.netguard import check_partner_url
from rescind.platform.banks import create_bank, get_bank
from rescind.platform.errors import InvalidSignalError
from rescind.security import audit
from rescind.security.crypto import Sealer
from rescind.store.models import ApiKey, ExchangeGrant, Partner

SEAL_PURPOSE = "partner-api-key"


def partner_bank_name(name: str) -> str:
    """The bank a partner's entries land in."""
    return f"partner-{name}"


def sealer(settings: Settings) -> Sealer:
    """Seals partner API keys at rest."""
    return Sealer(settings, SEAL_PURPOSE)


def add_partner(
    session: Session,
    settings: Settings,
    name: str,
    url: str,
    *,
    api_key: str,
    public_key: str,
    banks: list[str] | None = None,
    on_match: str = "review",
    actor: str = "cli",
) -> Partner:
    """Configure a partner and create the bank its entries land in (kind `ncii`, action on a
    match `review` unless told otherwise)."""
    plain = name.replace("-", "").replace("_", "")
    if not name or len(name) > 100 or not (plain.isascii() and plain.isalnum()):
        raise InvalidSignalError("a partner name is 1-100 of [A-Za-z0-9-_]", field="name")
    try:
        decode_public_key_bytes(public_key)
    except ValueError as exc:
        raise InvalidSignalError(str(exc), field="public_key") from None
    url = check_partner_url(url, allow_private=settings.exchange_allow_private)
    if session.scalar(select(Partner.id).where(Partner.name == name)) is not None:
        raise PartnerError(f"a partner called {name!r} exists", field="name")
    bank = create_bank(
        session, partner_bank_name(name), kind="ncii", threshold=settings.pdq_threshold,
        on_match=on_match,
    )  # fmt: skip
    partner = Partner(
        name=name,
        base_url=url,
        secret_enc=sealer(settings).seal(api_key),
        cursor=0,
        active=True,
        public_key=public_key.strip(),
        banks=",".join(banks) if banks else None,
        bank_id=bank.id,
    )
    session.add(partner)
    session.flush()
    audit.record(
        session, actor, "partner.added", subject_type="partner", subject_id=partner.id,
        detail={"name": name, "bank": bank.name, "on_match": on_match},
    )  # fmt: skip
    return partner


def get_partner(session: Session, name: str) -> Partner:
    """The partner called `name`, or PartnerError."""
    partner = session.scalar(select(Partner).where(Partner.name == name))
    if partner is None:
        raise PartnerError(f"no partner is called {name!r}", field="name")
    return partner


def list_partners(session: Session) -> list[Partner]:
    """Every partner, by name."""
    return list(session.scalars(select(Partner).order_by(Partner.name)))


def set_partner_active(session: Session, name: str, active: bool, *, actor: str = "cli") -> Partner:
    """Stop (or resume) pulling a partner; its bank keeps its entries until disabled too."""
    partner = get_partner(session, name)
    partner.active = active
    audit.record(
        session, actor, "partner.enabled" if active else "partner.disabled",
        subject_type="partner", subject_id=partner.id,
    )  # fmt: skip
    return partner


@dataclass(frozen=True)
class Grant:
    """A bank an exchange key may read."""

    key_name: str
    bank: str


def grant_banks(
    session: Session, key_name: str, banks: list[str], *, actor: str = "cli"
) -> list[Grant]:
    """Let the (unrevoked) API key called `key_name` read `banks` through the feed."""
    keys = list(
        session.scalars(select(ApiKey).where(ApiKey.name == key_name, ApiKey.revoked_at.is_(None)))
    )
    if len(keys) != 1:
        raise PartnerError(
            f"need exactly one active API key called {key_name!r}, found {len(keys)}", field="key"
        )
    key = keys[0]
    if "exchange" not in key.scopes.split(","):
        raise PartnerError(f"the key {key_name!r} lacks the exchange scope", field="key")
    granted = []
    for name in banks:
        bank = get_bank(session, name)
        exists = session.scalar(
            select(ExchangeGrant.id).where(
                ExchangeGrant.api_key_id == key.id, ExchangeGrant.bank_id == bank.id
            )
        )
        if exists is None:
            session.add(ExchangeGrant(api_key_id=key.id, bank_id=bank.id))
        granted.append(Grant(key.name, bank.name))
    session.flush()
    audit.record(
        session, actor, "exchange.granted", subject_type="api_key", subject_id=key.id,
        detail={"banks": banks},
    )  # fmt: skip
    return granted


def granted_bank_ids(session: Session, api_key_id: int) -> dict[int, str]:
    """The banks (id → name) a key may read."""
    from rescind.store.models import Bank

    rows = session.execute(
        select(Bank.id, Bank.name)
        .join(ExchangeGrant, ExchangeGrant.bank_id == Bank.id)
        .where(ExchangeGrant.api_key_id == api_key_id)
    )
    return {int(i): str(n) for i, n in rows}

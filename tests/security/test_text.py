"""Names and ids with invisible formatting characters (zero-width, bidirectional overrides and
isolates, byte-order mark) are refused wherever they are created, and nothing is stored."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from rescind.cases.users import UserError, create_user
from rescind.config import Settings
from rescind.exchange.identity import Identity
from rescind.exchange.partners import add_partner
from rescind.platform.apikeys import ApiKeyError, create_api_key
from rescind.platform.errors import InvalidSignalError
from rescind.store import Database
from rescind.store.models import ApiKey, Partner, User

HIDDEN = ["\u200b", "\u200d", "\u200f", "\u202a", "\u202e", "\u2066", "\u2069", "\ufeff"]


def _count(database: Database, model: type) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize("char", HIDDEN)
def test_staff_partner_and_key_names_refuse_hidden_characters(
    database: Database, settings: Settings, char: str
) -> None:
    public = Identity(Ed25519PrivateKey.generate()).public_key
    with database.session() as session:
        with pytest.raises(UserError):
            create_user(session, f"rita{char}", "correct horse battery", "reviewer")
        with pytest.raises(InvalidSignalError):
            add_partner(
                session, settings, f"p{char}x", "https://a.example", api_key="k", public_key=public
            )
        with pytest.raises(ApiKeyError):
            create_api_key(session, f"key{char}", frozenset({"check"}))
    assert _count(database, User) == _count(database, Partner) == _count(database, ApiKey) == 0

"""The data model (DESIGN.md "Data model"). Alembic migrations own the schema built from it."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from rescind.store.columns import EnumString, UTCDateTime, enum_check, utcnow
from rescind.store.statuses import (
    ActionOutcome,
    ActionStatus,
    AppealKind,
    AppealStatus,
    BankEntryStatus,
    Channel,
    ChildSafetyFlag,
    ContentState,
    DecisionOutcome,
    ItemStatus,
    JobStatus,
    LeadStatus,
    MinorAnswer,
    RequestStatus,
    Role,
    StopNCIIHashStatus,
    TiplineState,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_handle() -> str:
    """A random name for a case in a requester's status-page session (256 bits)."""
    return secrets.token_urlsafe(32)


# BigInteger ids that still autoincrement on SQLite (which only does so for INTEGER PRIMARY KEY).
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


# --- People and access -------------------------------------------------------------------------


class User(Base):
    """Staff: admin, reviewer or auditor. Requesters never have accounts."""

    __tablename__ = "users"
    __table_args__ = (enum_check("role", Role),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(120), unique=True)
    email: Mapped[str | None] = mapped_column(String(320))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(EnumString(Role))
    totp_secret_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # The TOTP time-step of the last code accepted: a code (or an older one) never works twice.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    # Failed sign-ins in a row (reset by a success): the account's slow-down.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_failed_login_at: Mapped[datetime | None]


class StaffSession(Base):
    """One console sign-in, held by the server so it can end: the cookie carries a random id,
    this row only its SHA-256. Ends at `expires_at` (absolute), after idle time since
    `last_seen`, or at `revoked_at` (sign-out, password change, account disabled)."""

    __tablename__ = "console_sessions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    # A TOTP secret shown for enrolment and not yet confirmed (sealed like the enrolled ones).
    totp_pending_enc: Mapped[bytes | None] = mapped_column(LargeBinary)


class ApiKey(Base):
    """A platform's API key: only a SHA-256 of the secret is stored, with its scopes."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(String(255))  # comma separated
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


# --- Requests ----------------------------------------------------------------------------------


class Request(Base):
    """A removal request (TAKE IT DOWN Act notice, DSA Art. 16 notice, regulator notice...)."""

    __tablename__ = "requests"
    __table_args__ = (
        enum_check("status", RequestStatus),
        enum_check("channel", Channel),
        enum_check("minor_answer", MinorAnswer),
        enum_check("child_safety", ChildSafetyFlag),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_number: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[RequestStatus] = mapped_column(
        EnumString(RequestStatus), default=RequestStatus.RECEIVED, index=True
    )
    channel: Mapped[Channel] = mapped_column(EnumString(Channel))
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    deadline_at: Mapped[datetime] = mapped_column(index=True)
    language: Mapped[str] = mapped_column(String(10))
    # Plaintext signatures of cases filed before 0007; newer ones are in `signature_enc`
    # (rescind.cases.intake.signature_of reads both).
    signature: Mapped[str | None] = mapped_column(String(200))
    signed_on: Mapped[str | None] = mapped_column(String(10))  # ISO date typed by the requester
    good_faith_statement: Mapped[str] = mapped_column(Text)
    supporting_info: Mapped[str | None] = mapped_column(Text)
    # Contact details are encrypted at rest (rescind.security.crypto); never logged.
    requester_name_enc: Mapped[bytes] = mapped_column(LargeBinary)
    requester_email_enc: Mapped[bytes] = mapped_column(LargeBinary)
    requester_phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Keyed hash of the normalised email: links a requester's cases without decrypting.
    requester_digest: Mapped[str | None] = mapped_column(String(64), index=True)
    representative: Mapped[bool] = mapped_column(Boolean, default=False)
    secret_hash: Mapped[str] = mapped_column(String(255))
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    risk_level: Mapped[int] = mapped_column(Integer, default=0)  # 0 ok, 1 at 24h, 2 at 40h
    closed_at: Mapped[datetime | None]
    # When the platform confirmed the last action: the Act's deadline is met at this time.
    removed_at: Mapped[datetime | None]
    # A removal came back (refused, not ours, undeliverable) or new information arrived after
    # the decision: the queue shows the case to a reviewer again.
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # --- added by 0007 -----------------------------------------------------------------------
    # Random name of the case in the requester's status-page session (never the row id).
    handle: Mapped[str] = mapped_column(String(64), unique=True, default=new_handle)
    # Keyed digest of the one-time form token it was filed with: a replayed form finds it.
    submission_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    signature_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The status secret for a few minutes after filing, sealed under a key only the filing
    # browser's form token and CSRF cookie rebuild (rescind.web.public.receipts).
    receipt_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    minor_answer: Mapped[MinorAnswer | None] = mapped_column(EnumString(MinorAnswer))
    child_safety: Mapped[ChildSafetyFlag] = mapped_column(
        EnumString(ChildSafetyFlag), default=ChildSafetyFlag.NONE, server_default="none"
    )
    # Room for a report to NCMEC's CyberTipline; nothing files one yet.
    ncmec_report_id: Mapped[str | None] = mapped_column(String(64))
    ncmec_reported_at: Mapped[datetime | None]
    # --- added by 0012 -----------------------------------------------------------------------
    # When the retention job erased the contact details (`rescind.cases.retention`).
    contact_purged_at: Mapped[datetime | None]
    # --- added by 0013 -----------------------------------------------------------------------
    # The person agreed that the case's hashes may be shared with StopNCII.org (never assumed).
    share_consent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    items: Mapped[list[RequestItem]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="RequestItem.id"
    )
    decisions: Mapped[list[Decision]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="Decision.id"
    )
    events: Mapped[list[RequestEvent]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="RequestEvent.id"
    )
    notes: Mapped[list[CaseNote]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="CaseNote.id"
    )


class RequestItem(Base):
    """One reported depiction: where it is and/or its hashes (hashed on the requester's device)."""

    __tablename__ = "request_items"
    __table_args__ = (enum_check("status", ItemStatus),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("requests.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str | None] = mapped_column(String(2048))
    content_id: Mapped[str | None] = mapped_column(String(255), index=True)
    pdq: Mapped[list[str] | None] = mapped_column(JSON)
    # A picture's bank views from the device: [{"variant", "quality", "hash"}] (validated).
    views: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    md5: Mapped[str | None] = mapped_column(String(32))
    sha256: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[ItemStatus] = mapped_column(
        EnumString(ItemStatus), default=ItemStatus.PENDING, server_default="pending"
    )
    decision_note: Mapped[str | None] = mapped_column(Text)  # why handled outside, rejected
    decided_at: Mapped[datetime | None]

    request: Mapped[Request] = relationship(back_populates="items")


class Decision(Base):
    """A reviewer's (or an automated rule's) decision on a request."""

    __tablename__ = "decisions"
    __table_args__ = (enum_check("outcome", DecisionOutcome),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("requests.id", ondelete="CASCADE"), index=True
    )
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    outcome: Mapped[DecisionOutcome] = mapped_column(EnumString(DecisionOutcome))
    reason_code: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    message_to_requester: Mapped[str | None] = mapped_column(Text)
    # A canned reply (rescind.cases.reasons.CANNED_REPLIES), shown translated; added by 0008.
    reply_code: Mapped[str | None] = mapped_column(String(64))
    automated: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(default=utcnow)

    request: Mapped[Request] = relationship(back_populates="decisions")


class RequestEvent(Base):
    """The history a requester sees on the status page, in plain words (kind + parameters)."""

    __tablename__ = "request_events"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any] | None]
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)

    request: Mapped[Request] = relationship(back_populates="events")


class CaseNote(Base):
    """A reviewer's internal note on a case: staff only, never shown to the requester."""

    __tablename__ = "case_notes"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("requests.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)

    request: Mapped[Request] = relationship(back_populates="notes")


# --- Banks -------------------------------------------------------------------------------------


class Bank(Base):
    """A named hash set with its matching policy."""

    __tablename__ = "banks"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # ncii | allow
    pdq_threshold: Mapped[int] = mapped_column(Integer, default=31)
    on_match: Mapped[str] = mapped_column(String(20), default="block")  # block | review
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# Entries banked as part of an item (partial index): `group_key = ?` or `IN (...)` implies it,
# so both planners use the index for such queries.
GROUPED = "group_key IS NOT NULL"


class BankEntry(Base):
    """One signal in a bank. Withdrawn entries stay (status) so withdrawals propagate."""

    __tablename__ = "bank_entries"
    __table_args__ = (
        Index("ix_bank_entries_signal", "signal_type", "value"),
        # An item's entries by its key (the HMA-compatible routes withdraw an item whole).
        Index(
            "ix_bank_entries_group_key",
            "group_key",
            sqlite_where=text(GROUPED),
            postgresql_where=text(GROUPED),
        ),
        enum_check("status", BankEntryStatus),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id"), index=True)
    signal_type: Mapped[str] = mapped_column(String(20))  # pdq | md5 | sha256 | video_pdq
    value: Mapped[str] = mapped_column(String(64))
    quality: Mapped[int | None] = mapped_column(Integer)
    group_key: Mapped[str | None] = mapped_column(String(64))  # frames of one video share it
    t: Mapped[float | None] = mapped_column(Float)  # seconds, for video frames
    source: Mapped[str] = mapped_column(String(20))  # request | reviewer | partner | import
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"), index=True)
    status: Mapped[BankEntryStatus] = mapped_column(
        EnumString(BankEntryStatus), default=BankEntryStatus.ACTIVE
    )
    provenance: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class BankChange(Base):
    """Append-only change feed of bank entries; every process's index follows it by `seq`."""

    __tablename__ = "bank_changes"
    seq: Mapped[int] = mapped_column(BigId, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("bank_entries.id"), index=True)
    op: Mapped[str] = mapped_column(String(10))  # add | remove
    at: Mapped[datetime] = mapped_column(default=utcnow)


# --- Platform registry, matches and actions ----------------------------------------------------


class Content(Base):
    """A piece of platform content Rescind knows about (from checks and backfill)."""

    __tablename__ = "contents"
    # Hash index on PostgreSQL: a removal request names content by URL, which may be long.
    __table_args__ = (
        Index("ix_contents_url", "url", postgresql_using="hash"),
        enum_check("state", ContentState),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    content_id: Mapped[str] = mapped_column(String(255), unique=True)
    url: Mapped[str | None] = mapped_column(String(2048))
    kind: Mapped[str] = mapped_column(String(10), default="image")  # image | video
    state: Mapped[ContentState] = mapped_column(EnumString(ContentState), default=ContentState.LIVE)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    forgotten_at: Mapped[datetime | None]


# The content signals looked up by value: exact hashes (a sweep finds their copies by
# equality). PDQ and frame hashes are searched in the in-memory registry index instead, so they
# stay out of the value index: one random index leaf less to write per registered hash, which
# on SQLite is most of a check's commit. Queries must repeat this predicate word for word (see
# `rescind.platform.sweep.exact_match_query`) for SQLite's planner to use the partial index.
EXACT_SIGNALS = "signal_type IN ('md5', 'sha256')"
# A registered picture hash's view name (`full`, `full/rot90`, `crop_c92`; migration 0019):
# picture rows only; NULL for a hash a platform sent and for rows registered before 0019.
CONTENT_SIGNAL_VARIANT = (
    "variant IS NULL OR (signal_type IN ('pdq', 'pdq_dihedral') "
    "AND length(variant) BETWEEN 1 AND 40)"
)

# Whether a registered picture is sparse (text on a flat background; migration 0020): picture
# rows only; NULL for a hash a platform sent and for rows registered before 0020.
CONTENT_SIGNAL_SPARSE = "sparse IS NULL OR signal_type IN ('pdq', 'pdq_dihedral')"

# Whether a registered video frame is plain (a title card, a caption on black, a slide;
# migration 0021): video frame rows only; NULL for frames a platform sent and for rows
# registered before 0021.
CONTENT_SIGNAL_PLAIN = "plain IS NULL OR signal_type = 'video_pdq'"


class ContentSignal(Base):
    """A hash of a content item (one row per PDQ hash, video frame, MD5, SHA-256)."""

    __tablename__ = "content_signals"
    __table_args__ = (
        Index(
            "ix_content_signals_exact",
            "signal_type",
            "value",
            sqlite_where=text(EXACT_SIGNALS),
            postgresql_where=text(EXACT_SIGNALS),
        ),
        CheckConstraint(CONTENT_SIGNAL_VARIANT, name="variant"),
        CheckConstraint(CONTENT_SIGNAL_SPARSE, name="sparse"),
        CheckConstraint(CONTENT_SIGNAL_PLAIN, name="plain"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    content_pk: Mapped[int] = mapped_column(
        ForeignKey("contents.id", ondelete="CASCADE"), index=True
    )
    signal_type: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(64))
    quality: Mapped[int | None] = mapped_column(Integer)
    t: Mapped[float | None] = mapped_column(Float)
    # The picture view the hash is of (`full/rot90`, `crop_c92`): the copy sweep keeps a banked
    # turned view from an upload's crops, as `/v1/check` does. NULL: not known (see above).
    variant: Mapped[str | None] = mapped_column(String(40))
    # Of a sparse upload (text on a flat background, rescind.media.robust_sparse): the copy
    # sweep holds its views to /v1/check's sparse rule. Set on the rows with a view name
    # (True or False); NULL: not known (a hash a platform sent, a row from before 0020).
    sparse: Mapped[bool | None] = mapped_column(Boolean)
    # A plain video frame (rescind.media.robust_sparse.plain_share), judged from the pixels
    # when the video was hashed here: a removal banks it with `provenance["plain"]`, as a
    # file's frames are banked. NULL: not known (frames a platform sent, rows from before 0021).
    plain: Mapped[bool | None] = mapped_column(Boolean)


class Match(Base):
    """A content item matched a bank entry."""

    __tablename__ = "matches"
    __table_args__ = (UniqueConstraint("content_pk", "bank_entry_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    content_pk: Mapped[int] = mapped_column(
        ForeignKey("contents.id", ondelete="CASCADE"), index=True
    )
    bank_entry_id: Mapped[int] = mapped_column(ForeignKey("bank_entries.id"), index=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"), index=True)
    distance: Mapped[int] = mapped_column(Integer)
    found_by: Mapped[str] = mapped_column(String(20))  # check | sweep
    at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookEndpoint(Base):
    """Where actions are delivered (besides RESCIND_WEBHOOK_URL)."""

    __tablename__ = "webhook_endpoints"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    secret_enc: Mapped[bytes] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Action(Base):
    """Transactional outbox: an action the platform must take, delivered at least once.

    It names registered content (`content_id`) or, for content the registry never saw, only
    the `url` the requester gave: the platform resolves it."""

    __tablename__ = "actions"
    __table_args__ = (
        Index("ix_actions_due", "status", "next_attempt_at"),
        enum_check("status", ActionStatus),
        enum_check("outcome", ActionOutcome),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    type: Mapped[str] = mapped_column(String(40))  # content.remove | content.restore | ...
    content_id: Mapped[str | None] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(String(2048))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"), index=True)
    # The reported item this action serves (named, copy of, or confirmed lead of it).
    item_id: Mapped[int | None] = mapped_column(ForeignKey("request_items.id"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[ActionStatus] = mapped_column(
        EnumString(ActionStatus), default=ActionStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
    outcome: Mapped[ActionOutcome | None] = mapped_column(EnumString(ActionOutcome))
    outcome_note: Mapped[str | None] = mapped_column(Text)
    confirmed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Lead(Base):
    """Registry content matched by a hash the requester supplied. A stranger's hash never
    removes anything by itself: only a lead a reviewer confirmed becomes an action."""

    __tablename__ = "leads"
    __table_args__ = (
        UniqueConstraint("item_id", "content_pk"),
        enum_check("status", LeadStatus),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("request_items.id"), index=True)
    content_pk: Mapped[int] = mapped_column(ForeignKey("contents.id", ondelete="CASCADE"))
    bank_entry_id: Mapped[int] = mapped_column(ForeignKey("bank_entries.id"))
    distance: Mapped[int] = mapped_column(Integer)
    status: Mapped[LeadStatus] = mapped_column(
        EnumString(LeadStatus), default=LeadStatus.UNCONFIRMED
    )
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ActionAttempt(Base):
    """Delivery log: one row per webhook attempt."""

    __tablename__ = "action_attempts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str | None] = mapped_column(String(2048))  # URL posted to
    at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int | None] = mapped_column(Integer)


# --- Exchange, jobs, audit ---------------------------------------------------------------------


class Partner(Base):
    """A peer instance we exchange hashes with."""

    __tablename__ = "partners"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    base_url: Mapped[str] = mapped_column(String(2048))
    secret_enc: Mapped[bytes] = mapped_column(LargeBinary)
    cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Exchange (migration 0006): the partner's identity, what we pull and how it is judged.
    public_key: Mapped[str | None] = mapped_column(String(64))  # Ed25519, base64
    banks: Mapped[str | None] = mapped_column(String(1000))  # comma separated; None = all granted
    bank_id: Mapped[int | None] = mapped_column(ForeignKey("banks.id"))  # where its entries land
    last_pull_at: Mapped[datetime | None]
    last_ok_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class Job(Base):
    """A durable background job: at-least-once, handlers are idempotent."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_due", "status", "run_at"), enum_check("status", JobStatus))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    unique_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    status: Mapped[JobStatus] = mapped_column(EnumString(JobStatus), default=JobStatus.QUEUED)
    run_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_by: Mapped[str | None] = mapped_column(String(120))
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    """Append-only audit log; each row carries the hash of the previous one (tamper evident)."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))  # user:<id> | apikey:<id> | requester | system
    action: Mapped[str] = mapped_column(String(60))
    subject_type: Mapped[str | None] = mapped_column(String(40))
    subject_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # How `hash` was made: "sha256" (unkeyed, before 0004) | "hmac-sha256" (keyed).
    scheme: Mapped[str] = mapped_column(String(16), server_default="sha256")


# --- Hash exchange (rescind.exchange; migration 0006) -----------------------------------------


class ExchangeLink(Base):
    """Where an imported entry came from: the source instance's own reference for it, so a
    later update or withdrawal from the same source finds the same local entry."""

    __tablename__ = "exchange_links"
    __table_args__ = (UniqueConstraint("bank_id", "origin", "remote_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id"))
    origin: Mapped[str] = mapped_column(String(64))  # source instance id
    remote_id: Mapped[str] = mapped_column(String(64))  # the source's reference of the entry
    entry_id: Mapped[int] = mapped_column(ForeignKey("bank_entries.id"), index=True)
    source_bank: Mapped[str | None] = mapped_column(String(120))
    case_ref: Mapped[str | None] = mapped_column(String(64))  # keyed hash, never a case number


class ExchangeGrant(Base):
    """Which of our banks an `exchange` API key may read through the feed."""

    __tablename__ = "exchange_grants"
    __table_args__ = (UniqueConstraint("api_key_id", "bank_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), index=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExchangeFeedback(Base):
    """A partner reviewer's verdict on one of our shared entries (`ncii` or `not_ncii`)."""

    __tablename__ = "exchange_feedback"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("bank_entries.id"), index=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    verdict: Mapped[str] = mapped_column(String(20))  # ncii | not_ncii
    note: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(default=utcnow)


# --- Appeals, CyberTipline reports, preservation (migration 0012) -----------------------------


class Appeal(Base):
    """A complaint against a decision (DSA Art. 20): an uploader's against a removal action
    (filed by the platform), or a requester's against the rejection of their request or of one
    item of it (`item_id`). Decided by a reviewer other than the one who made the original
    decision."""

    __tablename__ = "appeals"
    __table_args__ = (
        enum_check("kind", AppealKind),
        enum_check("status", AppealStatus),
        UniqueConstraint("action_id"),
        UniqueConstraint("decision_id"),
        UniqueConstraint("item_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[AppealKind] = mapped_column(EnumString(AppealKind))
    status: Mapped[AppealStatus] = mapped_column(
        EnumString(AppealStatus), default=AppealStatus.OPEN, index=True
    )
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"), index=True)
    # The removal appealed (kind removal) or the rejection appealed (kind rejection).
    action_id: Mapped[int | None] = mapped_column(ForeignKey("actions.id"))
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))
    # The one item whose rejection a requester appealed (migration 0015); its case stands.
    item_id: Mapped[int | None] = mapped_column(ForeignKey("request_items.id"))
    statement: Mapped[str | None] = mapped_column(Text)  # erased with the case's contact details
    filed_by: Mapped[str] = mapped_column(String(200))  # apikey:<id> | requester
    filed_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)
    # The `content.restore` actions an upheld removal appeal wrote (migration 0015).
    restore_action_ids: Mapped[list[int] | None] = mapped_column(JSON)


class TiplineReport(Base):
    """One CyberTipline report per case flagged as possibly involving a minor
    (`rescind.exchange.ncmec`): its state is written before and after each call to NCMEC."""

    __tablename__ = "tipline_reports"
    __table_args__ = (enum_check("state", TiplineState), UniqueConstraint("request_id"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"))
    state: Mapped[TiplineState] = mapped_column(
        EnumString(TiplineState), default=TiplineState.QUEUED
    )
    report_xml: Mapped[str] = mapped_column(Text)
    ncmec_report_id: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    attempted_at: Mapped[datetime | None]  # when the last submit was sent
    last_error: Mapped[str | None] = mapped_column(String(200))  # a type or NCMEC code only
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class Preservation(Base):
    """What US law (18 U.S.C. 2258A(h)) requires a provider to keep for a year after a
    CyberTipline report: the report and the reported content's hashes and locations. Admins
    only, every read audited; never touched by the retention purge before `expires_at`."""

    __tablename__ = "preservations"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("tipline_reports.id"), unique=True)
    case_number: Mapped[str] = mapped_column(String(32))
    report_xml: Mapped[str] = mapped_column(Text)
    hashes: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"items": [{url, md5, sha256, pdq}]}
    preserved_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


# --- External hash exchanges (rescind.exchange.stopncii; migration 0013) ----------------------


class ExchangeSource(Base):
    """An outside hash exchange we pull (`stopncii`): its checkpoint, the bank its hashes land
    in, and the state of its last pull (shown to operators, never a hash)."""

    __tablename__ = "exchange_sources"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    bank_id: Mapped[int | None] = mapped_column(ForeignKey("banks.id"))
    checkpoint: Mapped[int] = mapped_column(BigInteger, default=0)  # the source's own cursor
    last_pull_at: Mapped[datetime | None]
    last_ok_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class StopNCIIHash(Base):
    """One hash record of StopNCII.org as last pulled, kept whatever its type: an ImagePDQ or
    VideoMD5 record also has a bank entry (`entry_id`); a type we cannot match (VideoTMK, ...)
    is kept with `supported` false, so it is counted and shown rather than silently dropped."""

    __tablename__ = "stopncii_hashes"
    __table_args__ = (enum_check("status", StopNCIIHashStatus),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of type and value
    signal_type: Mapped[str] = mapped_column(String(20))  # StopNCII's name: ImagePDQ, VideoTMK...
    value: Mapped[str] = mapped_column(Text)
    supported: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[StopNCIIHashStatus] = mapped_column(EnumString(StopNCIIHashStatus))
    # Keyed digest of each StopNCII case id -> its status there (Active, Withdrawn, ...).
    cases: Mapped[dict[str, Any]]
    last_modified: Mapped[int] = mapped_column(BigInteger)  # the record's lastModtimestamp
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("bank_entries.id"), index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

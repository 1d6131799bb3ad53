"""The seam between a case and the platform: what a removal decision and a withdrawal do to the
banks, the registry and the outbox. Review and requester services take these as required
parameters (`enforce=`, `on_withdraw=`); the composition root (`rescind.services`) builds them."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from rescind.config import Settings
from rescind.exchange import stopncii
from rescind.platform.banks import withdraw_entries
from rescind.platform.enforce import ItemPlan, confirm_lead, enforce_removal, plan_removal
from rescind.platform.runtime import PlatformRuntime
from rescind.security import audit
from rescind.store.models import BankEntry, Lead, Request
from rescind.store.statuses import BankEntryStatus


@dataclass(frozen=True)
class RemovalEnforcer:
    """What a "remove" decision does (a `review.EnforceHook`), with the process's matcher and
    registry index the sweep searches."""

    runtime: PlatformRuntime

    def __call__(
        self,
        session: Session,
        settings: Settings,
        request: Request,
        /,
        only: Collection[int] | None = None,
    ) -> None:
        """Bank the request's hashes, sweep for copies, queue removals (the decision's
        transaction), for every item decided `remove` or the items `only` names; share the
        hashes with StopNCII.org if the person consented."""
        enforce_removal(session, settings, request, runtime=self.runtime, only=only)
        stopncii.queue_submission(session, settings, request)

    def plan(self, session: Session, settings: Settings, request: Request) -> list[ItemPlan]:
        """What removing each item would do now: actions, leads, or nothing."""
        return plan_removal(session, settings, request, runtime=self.runtime)

    def confirm_lead(self, session: Session, settings: Settings, lead: Lead, actor: str) -> None:
        """Action a confirmed lead and sweep its copies."""
        confirm_lead(session, settings, lead, actor, runtime=self.runtime)


def withdraw_hashes(session: Session, settings: Settings, request: Request) -> None:
    """Withdraw every bank entry made for this request; the change feed carries the withdrawal
    to every server's matcher and to partners, so nothing keeps blocking in the person's name."""
    entries = session.scalars(
        select(BankEntry).where(
            BankEntry.request_id == request.id, BankEntry.status == BankEntryStatus.ACTIVE
        )
    )
    count = withdraw_entries(session, list(entries))
    stopncii.queue_withdrawal(session, request)
    audit.record(
        session,
        "system",
        "bank.entries_withdrawn",
        subject_type="request",
        subject_id=request.case_number,
        detail={"entries": count},
    )

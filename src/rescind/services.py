"""The composition root below the web app and the command line: what a process runs, built from
`Settings`. Everything a service needs is handed to it here, explicitly: there is no registry
to look a dependency up in. The job runner knows its handlers only through the registry filled
here."""

from __future__ import annotations

from dataclasses import dataclass

from rescind.cases import jobs as cases_jobs
from rescind.cases.enforcement import RemovalEnforcer, withdraw_hashes
from rescind.cases.requester import WithdrawHook
from rescind.cases.review import EnforceHook
from rescind.config import Settings
from rescind.exchange import ncmec, stopncii, verdicts
from rescind.exchange import pull as exchange_pull
from rescind.jobs import JobRegistry
from rescind.media.image import quiet_decoder_warnings
from rescind.platform import upload_leads
from rescind.platform import webhooks as platform_webhooks
from rescind.platform.runtime import PlatformRuntime
from rescind.security import audit_checkpoints
from rescind.store import Database


@dataclass(frozen=True)
class Services:
    """The non-web services of a process that checks uploads and decides cases: its settings,
    its database, its matcher and registry index (`runtime`), and what a removal decision and a
    requester's withdrawal do to the banks (`enforce`, `on_withdraw`)."""

    settings: Settings
    database: Database
    runtime: PlatformRuntime
    enforce: EnforceHook
    on_withdraw: WithdrawHook


def build_services(settings: Settings, database: Database) -> Services:
    """The services of one process on `database`. The runtime's poller is not started here:
    its owner starts and stops it (the web app's lifespan)."""
    quiet_decoder_warnings()
    runtime = PlatformRuntime(settings, database.engine)
    return Services(
        settings=settings,
        database=database,
        runtime=runtime,
        enforce=RemovalEnforcer(runtime),
        on_withdraw=withdraw_hashes,
    )


def build_job_registry() -> JobRegistry:
    """Every job kind and periodic task: used by `rescind worker` and the worker embedded in
    `rescind serve`. No handler needs the matcher or the registry index (removals are enforced
    in the reviewer's transaction, not in a job), so a worker process never loads them."""
    quiet_decoder_warnings()
    registry = JobRegistry()
    cases_jobs.register(registry)
    platform_webhooks.register(registry)
    upload_leads.register(registry)
    registry.add_periodic(
        "audit.checkpoint",
        audit_checkpoints.CHECKPOINT_EVERY_S,
        audit_checkpoints.checkpoint_task,
    )
    registry.add_periodic(
        "audit.verify", audit_checkpoints.VERIFY_EVERY_S, audit_checkpoints.verify_task
    )
    exchange_pull.register(registry)
    ncmec.register(registry)
    stopncii.register(registry)
    verdicts.register(registry)
    return registry

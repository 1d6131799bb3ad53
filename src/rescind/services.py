"""The composition root below the web app and the command line: what a process runs, built from
`Settings`. The job runner knows its handlers only through the registry filled here."""

from __future__ import annotations

from rescind.cases import jobs as cases_jobs
from rescind.exchange import pull as exchange_pull
from rescind.jobs import JobRegistry
from rescind.platform import webhooks as platform_webhooks


def build_job_registry() -> JobRegistry:
    """Every job kind and periodic task: used by `rescind worker` and the worker embedded in
    `rescind serve`."""
    registry = JobRegistry()
    cases_jobs.register(registry)
    platform_webhooks.register(registry)
    exchange_pull.register(registry)
    return registry

"""Every job kind and periodic task the worker runs, gathered in one place."""

from __future__ import annotations

from rescind.cases import jobs as cases_jobs
from rescind.jobs.runner import JobRegistry
from rescind.platform import webhooks as platform_webhooks


def build_registry() -> JobRegistry:
    """The registry used by `rescind worker` and the worker embedded in `rescind serve`."""
    registry = JobRegistry()
    # Each service package adds its handlers here, e.g. `cases_jobs.register(registry)`.
    cases_jobs.register(registry)
    platform_webhooks.register(registry)
    return registry

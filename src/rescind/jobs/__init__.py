"""Durable background jobs (DB-backed, at-least-once, idempotent handlers) and their runner."""

from rescind.jobs.queue import enqueue
from rescind.jobs.runner import JobRegistry, Worker

__all__ = ["JobRegistry", "Worker", "enqueue"]

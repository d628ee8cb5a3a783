"""Scheduled jobs, one module each; ``scheduled_jobs`` builds the list the daemon schedules."""

from __future__ import annotations

from dispatcher.config import Config
from dispatcher.jobs import prune_history, reap_leases, reconcile
from dispatcher.scheduler import Job

MAINTENANCE = {
    "reap_leases": reap_leases.run,
    "prune_history": prune_history.run,
    "reconcile": reconcile.run,
}


def scheduled_jobs(config: Config) -> list[Job]:
    if not config.jobs.enabled:
        return []
    jobs = []
    for name, function in MAINTENANCE.items():
        settings = getattr(config.jobs, name)
        if settings.enabled:
            jobs.append(Job(name, settings.interval_seconds, function, settings.model_dump()))
    return jobs

"""Which jobs run, and with what: ``scheduled_jobs`` builds the list the daemon schedules, each
job with its typed settings from the configuration model (defaults live there, once)."""

from __future__ import annotations

from dispatcher.config import Config, JobConfig, SalesforceDestinationConfig
from dispatcher.maintenance import (
    check_drift,
    prune_history,
    pull_catalog,
    pull_changes,
    reap_leases,
    reconcile,
)
from dispatcher.maintenance.org import SalesforceOrg
from dispatcher.maintenance.scheduler import Job, JobFunction


def scheduled_jobs(config: Config) -> list[Job]:
    if not config.jobs.enabled:
        return []
    jobs = config.jobs
    found = [
        (n, d) for n, d in config.destinations.items() if isinstance(d, SalesforceDestinationConfig)
    ]
    org = SalesforceOrg.of(*found[0]) if found else None
    planned: list[tuple[str, JobConfig, JobFunction, object]] = []
    if org is not None:
        planned += [
            ("pull_catalog", jobs.pull_catalog, pull_catalog.run,
             pull_catalog.Settings(org, jobs.pull_catalog)),
            ("pull_changes", jobs.pull_changes, pull_changes.run,
             pull_changes.Settings(org, jobs.pull_changes)),
            ("check_drift", jobs.check_drift, check_drift.run, check_drift.Settings(org)),
        ]  # fmt: skip
    planned += [
        ("reap_leases", jobs.reap_leases, reap_leases.run, jobs.reap_leases),
        ("prune_history", jobs.prune_history, prune_history.run, jobs.prune_history),
        ("reconcile", jobs.reconcile, reconcile.run, None),
    ]
    # Every job's hold is its own setting (hold_seconds).
    return [
        Job(name, section.interval_seconds, function, settings, hold_seconds=section.hold_seconds)
        for name, section, function, settings in planned
        if section.enabled
    ]

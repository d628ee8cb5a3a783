"""Scheduled jobs, one module each; ``scheduled_jobs`` builds the list the daemon schedules."""

from __future__ import annotations

from dataclasses import replace

from dispatcher.config import Config, SalesforceDestinationConfig
from dispatcher.jobs import (
    check_drift,
    prune_history,
    pull_catalog,
    pull_changes,
    reap_leases,
    reconcile,
)
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
    found = [
        (n, d) for n, d in config.destinations.items() if isinstance(d, SalesforceDestinationConfig)
    ]
    name, salesforce = found[0] if found else ("salesforce", None)
    org = (
        {
            "salesforce_options": salesforce.options,
            "salesforce_sandbox": salesforce.sandbox,
            "salesforce_destination": name,
        }
        if salesforce is not None
        else {}
    )
    pull = config.jobs.pull_catalog
    if salesforce is not None and pull.enabled:
        settings = {**pull.model_dump(), **org}
        jobs.append(Job("pull_catalog", pull.interval_seconds, pull_catalog.run, settings))
    changes = config.jobs.pull_changes
    if salesforce is not None and changes.enabled:
        settings = {**changes.model_dump(), **org, "mappings_dir": config.mappings_dir}
        jobs.append(Job("pull_changes", changes.interval_seconds, pull_changes.run, settings))
    drift = config.jobs.check_drift
    if salesforce is not None and drift.enabled:
        settings = {**drift.model_dump(), **org, "mappings_dir": config.mappings_dir}
        jobs.append(Job("check_drift", drift.interval_seconds, check_drift.run, settings))
    for name, function in MAINTENANCE.items():
        settings = getattr(config.jobs, name)
        if settings.enabled:
            jobs.append(Job(name, settings.interval_seconds, function, settings.model_dump()))
    # Every job's hold is its own setting (hold_seconds), read from its settings.
    return [replace(job, hold_seconds=float(job.settings["hold_seconds"])) for job in jobs]

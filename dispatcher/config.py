"""The daemon's configuration: one YAML file, secrets from the environment, checked at start.

Every problem is reported at once, each with the file and line, the key and the fix, so an
operator fixes a broken file in one pass. Secrets never appear in the file: a key ending in
``_env`` names the environment variable that holds the value.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dispatcher.errors import ConfigError, ConfigIssue
from dispatcher.redact import remember_secret
from dispatcher.retry import RetryPolicy
from dispatcher.worker import WorkerSettings

CONFIG_ENV = "OUTBOX_CONFIG"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RetryConfig(_Strict):
    max_attempts: Annotated[int, Field(ge=1, le=100)] = 15
    backoff_base_seconds: Annotated[float, Field(gt=0)] = 30.0
    backoff_cap_seconds: Annotated[float, Field(gt=0)] = 6 * 3600.0


class BreakerConfig(_Strict):
    failures: Annotated[int, Field(ge=1)] = 10
    cooldown_seconds: Annotated[float, Field(gt=0)] = 30.0


class DestinationConfig(_Strict):
    type: Literal["null", "webhook", "salesforce", "thinkific"]
    enabled: bool = True
    batch_size: Annotated[int, Field(ge=1, le=10_000)] = 100
    concurrency: Annotated[int, Field(ge=1, le=64)] = 2
    retry: RetryConfig = RetryConfig()
    breaker: BreakerConfig = BreakerConfig()
    url: str | None = None
    timeout_seconds: Annotated[float, Field(gt=0)] = 10.0
    headers_env: dict[str, str] = {}
    # Settings of a native destination (salesforce, thinkific), validated by that destination's
    # own model when the daemon builds it; secrets are named by *_env keys here too.
    options: dict[str, Any] = {}


class DispatcherConfig(_Strict):
    lease_seconds: Annotated[float, Field(ge=1)] = 60.0
    poll_interval_seconds: Annotated[float, Field(gt=0)] = 2.0
    reclaim_interval_seconds: Annotated[float, Field(gt=0)] = 5.0
    shutdown_grace_seconds: Annotated[float, Field(ge=0)] = 20.0
    pool_size: Annotated[int, Field(ge=2, le=200)] | None = None
    http_host: str = "127.0.0.1"
    http_port: Annotated[int, Field(ge=0, le=65535)] | None = 8700
    sample_interval_seconds: Annotated[float, Field(gt=0)] = 5.0
    # false: the dispatcher's own commits (claims, attempt rows, states) skip the WAL flush. A
    # PostgreSQL crash may then forget the last few hundred milliseconds of them: those messages
    # are claimed and delivered again, which idempotent destinations absorb. Orders and outbox
    # rows written by the storefront stay fully durable either way.
    synchronous_commit: bool = True


class JobConfig(_Strict):
    enabled: bool = True
    interval_seconds: Annotated[float, Field(gt=0)] = 300.0


class ReapLeasesConfig(JobConfig):
    interval_seconds: Annotated[float, Field(gt=0)] = 30.0
    blocked_key_alert_seconds: Annotated[float, Field(gt=0)] = 900.0


class PruneHistoryConfig(JobConfig):
    interval_seconds: Annotated[float, Field(gt=0)] = 3600.0
    retention_days: Annotated[int, Field(ge=1)] = 30
    batch_size: Annotated[int, Field(ge=100, le=100_000)] = 5000


class PullCatalogConfig(JobConfig):
    stock_field: str = "Stock_Quantity__c"
    safety_stock: Annotated[int, Field(ge=0)] = 0


class JobsConfig(_Strict):
    enabled: bool = True
    pull_catalog: PullCatalogConfig = PullCatalogConfig()
    check_drift: JobConfig = JobConfig()
    reap_leases: ReapLeasesConfig = ReapLeasesConfig()
    prune_history: PruneHistoryConfig = PruneHistoryConfig()
    reconcile: JobConfig = JobConfig()


class Config(_Strict):
    dispatcher: DispatcherConfig = DispatcherConfig()
    mappings_dir: Path | None = None
    jobs: JobsConfig = JobsConfig()
    destinations: dict[str, DestinationConfig] = {"null": DestinationConfig(type="null")}

    def worker_settings(self, name: str) -> WorkerSettings:
        d, top = self.destinations[name], self.dispatcher
        return WorkerSettings(
            batch_size=d.batch_size,
            concurrency=d.concurrency,
            lease_seconds=top.lease_seconds,
            poll_interval=top.poll_interval_seconds,
            reclaim_interval=top.reclaim_interval_seconds,
            policy=RetryPolicy(
                d.retry.backoff_base_seconds, d.retry.backoff_cap_seconds, d.retry.max_attempts
            ),
            breaker_threshold=d.breaker.failures,
            breaker_cooldown=d.breaker.cooldown_seconds,
        )


def load(path: Path | None = None, environ: dict[str, str] | None = None) -> Config:
    """Read, validate and cross-check the file; raise ``ConfigError`` listing every problem."""
    env = dict(os.environ if environ is None else environ)
    path = path or (Path(env[CONFIG_ENV]) if env.get(CONFIG_ENV) else None)
    if path is None:
        return Config()
    if not path.is_file():
        raise ConfigError(
            [
                ConfigIssue(
                    str(path), "(file)", "no such file", f"create it or point {CONFIG_ENV} at it"
                )
            ]
        )
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text) or {}
        lines = _line_index(yaml.compose(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(
            [ConfigIssue(where, "(syntax)", str(exc).splitlines()[0], "fix the YAML syntax")]
        ) from exc
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError([_issue(path, lines, error) for error in exc.errors()]) from exc
    issues = _cross_check(config, path, lines, env)
    if issues:
        raise ConfigError(issues)
    return config


def secret_headers(
    config: DestinationConfig, environ: dict[str, str] | None = None
) -> dict[str, str]:
    env = os.environ if environ is None else environ
    headers = {header: env[var] for header, var in config.headers_env.items()}
    for value in headers.values():
        remember_secret(value)
    return headers


def _cross_check(
    config: Config, path: Path, lines: dict[tuple[str, ...], int], env: dict[str, str]
) -> list[ConfigIssue]:
    issues = []
    for name, dest in config.destinations.items():
        where = f"{path}:{lines.get(('destinations', name), 1)}"
        if dest.type == "webhook" and not dest.url:
            issues.append(
                ConfigIssue(
                    where,
                    f"destinations.{name}.url",
                    "a webhook needs a url",
                    "add url: https://...",
                )
            )
        for header, var in dest.headers_env.items():
            if var not in env:
                issues.append(
                    ConfigIssue(
                        where,
                        f"destinations.{name}.headers_env.{header}",
                        f"environment variable {var} is not set",
                        f"export {var}=... before starting",
                    )
                )
    return issues


def _issue(path: Path, lines: dict[tuple[str, ...], int], error: Any) -> ConfigIssue:
    loc = tuple(str(part) for part in error["loc"])
    line = next((lines[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in lines), 1)
    key = ".".join(loc) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        fix = "remove it, or check its spelling against the configuration reference in the README"
    elif kind == "missing":
        fix = "add it"
    elif kind == "literal_error":
        fix = f"use one of {error.get('ctx', {}).get('expected', 'the allowed values')}"
    else:
        fix = "give a value of the right type and range"
    return ConfigIssue(f"{path}:{line}", key, error["msg"], fix)


def _line_index(node: yaml.Node | None, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], int]:
    """Map every key path of the document to its 1-based line."""
    index: dict[tuple[str, ...], int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            path = (*prefix, str(key.value))
            index[path] = key.start_mark.line + 1
            index.update(_line_index(value, path))
    elif isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            path = (*prefix, str(position))
            index[path] = item.start_mark.line + 1
            index.update(_line_index(item, path))
    return index

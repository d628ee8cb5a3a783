"""The daemon's configuration: one YAML file, secrets from the environment, checked at start.

One pydantic model validated in one pass: destinations are a union discriminated by ``type``,
and every option of every destination and job is part of it. Every problem is reported at
once, each with the file and line, the key and the fix, so an operator fixes a broken file in
one pass. Secrets never appear in the file: a key ending in ``_env`` names the environment
variable that holds the value; a missing one is reported with the rest.

The file itself is read by ``dispatcher.config_file``, which refuses hostile YAML.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import httpx
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from dispatcher.config_file import CONFIG_ENV, read_yaml
from dispatcher.core.errors import ConfigError, ConfigIssue
from dispatcher.core.redact import remember_secret
from dispatcher.core.retry import RetryPolicy
from dispatcher.core.worker import WorkerSettings
from dispatcher.destinations.salesforce.settings import SANDBOX_URL, SalesforceOptions
from dispatcher.destinations.salesforce.settings import load_settings as salesforce_settings
from dispatcher.destinations.thinkific.settings import SANDBOX_API, ThinkificOptions
from dispatcher.destinations.thinkific.settings import settings_from as thinkific_settings

DAY = 86_400.0

# RFC 9110 §5.1: a field name is a token.
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,200}")
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_DESTINATION_NAME = re.compile(r"[A-Za-z0-9_.-]{1,63}")


def _webhook_url(value: str) -> str:
    try:
        url = httpx.URL(value)
    except (httpx.InvalidURL, ValueError) as exc:
        raise ValueError(f"not a URL: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host or any(c.isspace() for c in value):
        raise ValueError("an http:// or https:// URL with a host is needed")
    return value


def _host(value: str) -> str:
    try:
        ipaddress.ip_address(value)
        return value
    except ValueError:
        pass
    labels = value.rstrip(".").split(".")
    if len(value) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise ValueError("not an IP address or a host name")
    return value


def _header_names(value: dict[str, str]) -> dict[str, str]:
    for header, variable in value.items():
        if not _HEADER_NAME.fullmatch(header):
            raise ValueError(f"{header[:60]!r} is not an HTTP header name (RFC 9110 §5.1)")
        if not _ENV_NAME.fullmatch(variable):
            raise ValueError(f"{variable[:60]!r} is not an environment variable name")
    return value


def _destination_names(value: dict[str, Any]) -> dict[str, Any]:
    for name in value:
        if not _DESTINATION_NAME.fullmatch(name):
            raise ValueError(f"{name[:60]!r} is not a destination name (letters, digits, _.-)")
    return value


Seconds = Annotated[float, Field(gt=0, le=DAY)]
Interval = Annotated[float, Field(gt=0, le=7 * DAY)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class RetryConfig(_Strict):
    max_attempts: Annotated[int, Field(ge=1, le=100)] = 15
    backoff_base_seconds: Seconds = 30.0
    backoff_cap_seconds: Interval = 6 * 3600.0


class BreakerConfig(_Strict):
    failures: Annotated[int, Field(ge=1, le=1_000_000)] = 10
    cooldown_seconds: Seconds = 30.0


class _Destination(_Strict):
    enabled: bool = True
    batch_size: Annotated[int, Field(ge=1, le=10_000)] = 100
    concurrency: Annotated[int, Field(ge=1, le=64)] = 2
    retry: RetryConfig = RetryConfig()
    breaker: BreakerConfig = BreakerConfig()
    timeout_seconds: Annotated[float, Field(gt=0, le=600)] = 10.0


class NullDestinationConfig(_Destination):
    type: Literal["null"]


class WebhookDestinationConfig(_Destination):
    type: Literal["webhook"]
    url: Annotated[str, AfterValidator(_webhook_url)] | None = None  # required: cross-checked
    headers_env: Annotated[dict[str, str], AfterValidator(_header_names)] = {}


class SalesforceDestinationConfig(_Destination):
    type: Literal["salesforce"]
    # true: the local sandbox (``outbox sandbox``) in so many words; its URL and built-in
    # secret are used when the options give none. Never implied.
    sandbox: bool = False
    options: SalesforceOptions = SalesforceOptions()

    @model_validator(mode="after")
    def _sandbox_or_url(self) -> SalesforceDestinationConfig:
        if self.options.instance_url is None:
            if not self.sandbox:
                raise ValueError(
                    "a Salesforce destination needs options.instance_url (your My Domain URL, "
                    "https://<name>.my.salesforce.com), or sandbox: true for the local sandbox"
                )
            options = self.options.model_copy(update={"instance_url": SANDBOX_URL})
            object.__setattr__(self, "options", options)
        return self


class ThinkificDestinationConfig(_Destination):
    type: Literal["thinkific"]
    sandbox: bool = False  # as for salesforce
    options: ThinkificOptions

    @model_validator(mode="after")
    def _sandbox_or_url(self) -> ThinkificDestinationConfig:
        if self.options.base_url is None:
            if not self.sandbox:
                raise ValueError(
                    "a Thinkific destination needs options.base_url "
                    "(https://api.thinkific.com/api/public/v1), or sandbox: true"
                )
            options = self.options.model_copy(update={"base_url": SANDBOX_API})
            object.__setattr__(self, "options", options)
        return self


DestinationConfig = Annotated[
    NullDestinationConfig
    | WebhookDestinationConfig
    | SalesforceDestinationConfig
    | ThinkificDestinationConfig,
    Field(discriminator="type"),
]
DESTINATION_TYPES = ("null", "webhook", "salesforce", "thinkific")
_DESTINATION = TypeAdapter(DestinationConfig)


def destination_config(**fields: Any) -> DestinationConfig:
    """One destination's settings from keyword arguments, as the file would give them."""
    destination: DestinationConfig = _DESTINATION.validate_python(fields)
    return destination


class DispatcherConfig(_Strict):
    lease_seconds: Annotated[float, Field(ge=1, le=DAY)] = 60.0
    poll_interval_seconds: Annotated[float, Field(gt=0, le=3600)] = 2.0
    reclaim_interval_seconds: Annotated[float, Field(gt=0, le=3600)] = 5.0
    shutdown_grace_seconds: Annotated[float, Field(ge=0, le=3600)] = 20.0
    pool_size: Annotated[int, Field(ge=2, le=200)] | None = None
    http_host: Annotated[str, AfterValidator(_host)] = "127.0.0.1"
    http_port: Annotated[int, Field(ge=0, le=65535)] | None = 8700
    sample_interval_seconds: Annotated[float, Field(gt=0, le=3600)] = 5.0
    # false: the dispatcher's own commits (claims, attempt rows, states) skip the WAL flush. A
    # PostgreSQL crash may then forget the last few hundred milliseconds of them: those messages
    # are claimed and delivered again, which idempotent destinations absorb. Orders and outbox
    # rows written by the storefront stay fully durable either way.
    synchronous_commit: bool = True


class JobConfig(_Strict):
    enabled: bool = True
    interval_seconds: Interval = 300.0
    # How long a run may take before another dispatcher may take the job over: the holder
    # is presumed dead after this, and its unfinished run is closed as lapsed.
    hold_seconds: Annotated[float, Field(ge=1)] = 600.0


class ReapLeasesConfig(JobConfig):
    interval_seconds: Interval = 30.0
    blocked_key_alert_seconds: Interval = 900.0


class PruneHistoryConfig(JobConfig):
    interval_seconds: Interval = 3600.0
    retention_days: Annotated[int, Field(ge=1, le=36_500)] = 30
    batch_size: Annotated[int, Field(ge=100, le=100_000)] = 5000
    max_rows_per_run: Annotated[int, Field(ge=100)] = 1_000_000


# A Salesforce field's API name, as it goes into SOQL: letters, digits and underscores.
FieldName = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,79}$")]


class PullCatalogConfig(JobConfig):
    stock_field: FieldName = "Stock_Quantity__c"
    # Product2 field holding the last storefront stock movement written into stock_field; null
    # turns the write off (then every sale keeps counting against Salesforce's count).
    stock_mark_field: FieldName | None = "Storefront_Stock_Movement__c"
    safety_stock: Annotated[int, Field(ge=0, le=1_000_000_000)] = 0
    # Product2 field with a per-product safety stock; where it is null, safety_stock applies.
    safety_stock_field: FieldName | None = None


class PullChangesConfig(JobConfig):
    interval_seconds: Interval = 60.0
    # The Salesforce user Id the integration writes as; by default the one the token names.
    integration_user_id: (
        Annotated[str, Field(pattern=r"^005[A-Za-z0-9]{12}([A-Za-z0-9]{3})?$")] | None
    ) = None


class JobsConfig(_Strict):
    enabled: bool = True
    pull_catalog: PullCatalogConfig = PullCatalogConfig()
    pull_changes: PullChangesConfig = PullChangesConfig()
    check_drift: JobConfig = JobConfig()
    reap_leases: ReapLeasesConfig = ReapLeasesConfig()
    prune_history: PruneHistoryConfig = PruneHistoryConfig()
    reconcile: JobConfig = JobConfig()


class Config(_Strict):
    dispatcher: DispatcherConfig = DispatcherConfig()
    mappings_dir: Path | None = None
    jobs: JobsConfig = JobsConfig()
    destinations: Annotated[dict[str, DestinationConfig], AfterValidator(_destination_names)] = {
        "null": NullDestinationConfig(type="null")
    }
    _source: str = PrivateAttr(default="(built-in defaults)")
    _lines: dict[tuple[str, ...], int] = PrivateAttr(default_factory=dict)

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

    def where(self, *key: str) -> str:
        """``file:line`` of a key of the file (of its nearest enclosing key that is there)."""
        line = next(
            (self._lines[key[:n]] for n in range(len(key), 0, -1) if key[:n] in self._lines), 1
        )
        return f"{self._source}:{line}"


def load(path: Path | None = None, environ: dict[str, str] | None = None) -> Config:
    """Read, validate and cross-check the file; raise ``ConfigError`` listing every problem."""
    env = dict(os.environ if environ is None else environ)
    path = path or (Path(env[CONFIG_ENV]) if env.get(CONFIG_ENV) else None)
    if path is None:
        return Config()
    data, lines = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(
            [
                ConfigIssue(
                    f"{path}:1",
                    "(top level)",
                    "not a mapping of keys",
                    "start from deploy/outbox.yaml",
                )
            ]
        )
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError([_issue(path, lines, error) for error in exc.errors()]) from None
    config._source, config._lines = str(path), lines
    issues = list(_cross_check(config, env))
    if issues:
        raise ConfigError(issues)
    return config


def secret_headers(
    config: WebhookDestinationConfig, environ: dict[str, str] | None = None
) -> dict[str, str]:
    env = os.environ if environ is None else environ
    headers = {header: env[var] for header, var in config.headers_env.items()}
    for value in headers.values():
        remember_secret(value)
    return headers


def _cross_check(config: Config, env: dict[str, str]) -> Iterator[ConfigIssue]:
    """What one key cannot tell alone: environment variables, files, a destination's options
    resolved as its builder will resolve them."""
    if config.mappings_dir is not None and not config.mappings_dir.is_dir():
        yield ConfigIssue(
            config.where("mappings_dir"),
            "mappings_dir",
            "no such folder",
            "point it at the folder of salesforce.yaml and thinkific.yaml",
        )
    for name, dest in config.destinations.items():
        if isinstance(dest, WebhookDestinationConfig):
            if not dest.url:
                yield ConfigIssue(
                    config.where("destinations", name),
                    f"destinations.{name}.url",
                    "a webhook needs a url",
                    "add url: https://...",
                )
            for header, var in dest.headers_env.items():
                if not env.get(var):
                    yield ConfigIssue(
                        config.where("destinations", name),
                        f"destinations.{name}.headers_env.{header}",
                        f"environment variable {var} is not set",
                        f"export {var}=... before starting",
                    )
                remember_secret(env.get(var))
        try:
            if isinstance(dest, SalesforceDestinationConfig):
                salesforce_settings(name, dest.options, environ=env, sandbox=dest.sandbox)
            elif isinstance(dest, ThinkificDestinationConfig):
                thinkific_settings(name, dest.options, environ=env)
        except ConfigError as exc:
            for issue in exc.issues:
                yield ConfigIssue(
                    config.where(*issue.key.split(".")), issue.key, issue.problem, issue.fix
                )


def _issue(path: Path, lines: dict[tuple[str, ...], int], error: Any) -> ConfigIssue:
    loc = tuple(str(part) for part in error["loc"])
    kind = error["type"]
    if kind == "union_tag_invalid" or kind == "union_tag_not_found":
        loc = (*loc, "type")
    # pydantic names the union member in the location (destinations.x.salesforce.options...).
    if len(loc) > 2 and loc[0] == "destinations" and loc[2] in DESTINATION_TYPES:
        loc = (*loc[:2], *loc[3:])
    line = next((lines[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in lines), 1)
    key = ".".join(loc) or "(top level)"
    types = ", ".join(repr(t) for t in DESTINATION_TYPES[:-1]) + f" or {DESTINATION_TYPES[-1]!r}"
    fixes = {
        "extra_forbidden": "remove it, or check its spelling against the configuration "
        "reference in the README",
        "missing": "add it",
        "union_tag_invalid": f"use one of {types}",
        "union_tag_not_found": f"add type: one of {types}",
        "finite_number": "give a finite number",
        "string_pattern_mismatch": "give the field's API name as Salesforce's describe shows it, "
        "such as Safety_Stock__c",
    }
    fix = fixes.get(kind) or (
        f"use one of {error.get('ctx', {}).get('expected', 'the allowed values')}"
        if kind == "literal_error"
        else "give a value of the right type and range"
    )
    problem = error["msg"]
    if kind == "union_tag_invalid":
        problem = f"unknown type {error.get('ctx', {}).get('tag')!r}"
    return ConfigIssue(f"{path}:{line}", key, problem, fix)

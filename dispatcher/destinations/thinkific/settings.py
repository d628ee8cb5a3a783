"""The ``options`` of a ``type: thinkific`` destination, checked once when the daemon builds it.

The operator's YAML and the environment are a trust boundary, so the options are a pydantic
model, and every problem is reported at once with the key and the fix. Secrets are never in the
file: ``api_key_env`` and ``token_env`` name the environment variables that hold them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dispatcher.core.errors import ConfigError, ConfigIssue
from dispatcher.core.redact import remember_secret

# API-NOTES §2.1 "Base URL"; the sandbox serves the same path on loopback.
PUBLIC_API = "https://api.thinkific.com/api/public/v1"
# 120 requests per minute per site (API-NOTES §2.5); a concurrency cap of 10 is reported.
DEFAULT_REQUESTS_PER_MINUTE = 120
DEFAULT_MAX_IN_FLIGHT = 10
# ``outbox sandbox`` serves the Thinkific sandbox here; used only with ``sandbox: true``.
SANDBOX_API = "http://127.0.0.1:8702/api/public/v1"


class ThinkificOptions(BaseModel):
    """What an operator may write under ``options:``."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    base_url: str | None = None  # PUBLIC_API for a real site; required unless sandbox: true
    subdomain: str | None = None
    api_key_env: str | None = None
    token_env: str | None = None
    requests_per_minute: Annotated[int, Field(ge=1, le=100_000)] = DEFAULT_REQUESTS_PER_MINUTE
    max_in_flight: Annotated[int, Field(ge=1, le=100)] = DEFAULT_MAX_IN_FLIGHT
    timeout_seconds: Annotated[float, Field(gt=0, le=600)] | None = None
    max_batch: Annotated[int, Field(ge=1, le=1000)] = 50


@dataclass(frozen=True, slots=True)
class ThinkificSettings:
    """Resolved settings: secrets read, headers built, nothing left to check."""

    base_url: str
    headers: Mapping[str, str] = field(repr=False)  # carries the API key or token
    requests_per_minute: int
    max_in_flight: int
    timeout_seconds: float
    max_batch: int

    @property
    def site(self) -> str:
        """Which Thinkific site this is: the key of its shared budget and of what is remembered
        of it, so a destination repointed at another site never reuses the old site's ids."""
        return f"{self.base_url}#{self.headers.get('X-Auth-Subdomain', 'oauth')}"


def settings_from(
    name: str,
    options: ThinkificOptions | Mapping[str, Any],
    *,
    timeout_seconds: float = 10.0,
    batch_size: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> ThinkificSettings:
    """Validate the options; raise ``ConfigError`` naming every bad key and its fix."""
    env = os.environ if environ is None else environ
    where = f"destinations.{name}.options"
    try:
        parsed = ThinkificOptions.model_validate(options)
    except ValidationError as exc:
        raise ConfigError([_issue(where, error) for error in exc.errors()]) from exc
    headers, issues = _auth_headers(where, parsed, env)
    base_url = parsed.base_url or ""
    if not base_url.startswith(("https://", "http://")):
        issues.append(
            ConfigIssue(where, f"{where}.base_url", "not an http(s) URL", f"use {PUBLIC_API}")
        )
    if issues:
        raise ConfigError(issues)
    return ThinkificSettings(
        base_url=base_url.rstrip("/"),
        headers=headers,
        requests_per_minute=parsed.requests_per_minute,
        max_in_flight=parsed.max_in_flight,
        timeout_seconds=parsed.timeout_seconds or timeout_seconds,
        max_batch=min(parsed.max_batch, batch_size or parsed.max_batch),
    )


def _auth_headers(
    where: str, options: ThinkificOptions, env: Mapping[str, str]
) -> tuple[dict[str, str], list[ConfigIssue]]:
    """A private app's key and subdomain, or an OAuth app's bearer token (API-NOTES §2.1)."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    issues: list[ConfigIssue] = []
    if (options.api_key_env is None) == (options.token_env is None):
        fix = "set api_key_env (with subdomain) or token_env, not both"
        issues.append(ConfigIssue(where, f"{where}.api_key_env", "choose one way to sign in", fix))
        return headers, issues
    if options.subdomain:
        headers["X-Auth-Subdomain"] = options.subdomain
    if options.api_key_env is not None:
        if not options.subdomain:
            fix = "add subdomain: <your site>, as in <your site>.thinkific.com"
            issues.append(ConfigIssue(where, f"{where}.subdomain", "an API key needs one", fix))
        secret = _secret(where, "api_key_env", options.api_key_env, env, issues)
        headers["X-Auth-API-Key"] = secret
    else:
        assert options.token_env is not None
        secret = _secret(where, "token_env", options.token_env, env, issues)
        headers["Authorization"] = f"Bearer {secret}"
    return headers, issues


def _secret(
    where: str, key: str, variable: str, env: Mapping[str, str], issues: list[ConfigIssue]
) -> str:
    value = env.get(variable, "")
    remember_secret(value)
    if not value:
        problem = f"environment variable {variable} is not set"
        issues.append(ConfigIssue(where, f"{where}.{key}", problem, f"export {variable}=..."))
    return value


def _issue(where: str, error: Any) -> ConfigIssue:
    key = ".".join([where, *(str(part) for part in error["loc"])])
    if error["type"] == "extra_forbidden":
        fix = f"remove it; the keys are {', '.join(ThinkificOptions.model_fields)}"
    else:
        fix = "give a value of the right type and range"
    return ConfigIssue(where, key, error["msg"], fix)

"""The ``options`` of a ``type: salesforce`` destination, checked once when the daemon builds it.

This is a trust boundary (an operator's YAML and the environment), so it is a pydantic model;
every problem is reported at once, naming the key and the fix. Secrets are never in the file:
``client_secret_env`` and ``private_key_env`` name environment variables. Without options the
destination points at the built-in sandbox (``outbox sandbox`` serves it on port 8701).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Discriminator, Field, SecretStr, Tag, ValidationError

from dispatcher.core.errors import ConfigError, ConfigIssue
from dispatcher.core.redact import remember_secret

SANDBOX_URL = "http://127.0.0.1:8701"
SANDBOX_CLIENT_ID = "sandbox-consumer-key"
# The sandbox's built-in secret: public, and accepted only for a loopback instance URL.
SANDBOX_CLIENT_SECRET = "sandbox-consumer-secret"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ClientCredentials(_Strict):
    """OAuth client-credentials flow against the org's My Domain (API-NOTES §1.1)."""

    flow: Literal["client_credentials"] = "client_credentials"
    client_id: str = SANDBOX_CLIENT_ID
    client_secret_env: str | None = None


class JwtBearer(_Strict):
    """OAuth JWT bearer flow: RS256 assertion signed with the connected app's key (§1.1)."""

    flow: Literal["jwt"]
    client_id: str
    username: str
    private_key_file: Path | None = None
    private_key_env: str | None = None
    audience: str = "https://login.salesforce.com"
    token_url: str | None = None  # default: <instance_url>/services/oauth2/token


def _flow(value: Any) -> str:
    """``flow`` may be left out: client credentials is the default."""
    if isinstance(value, dict):
        return str(value.get("flow", "client_credentials"))
    return str(getattr(value, "flow", "client_credentials"))


class SalesforceOptions(_Strict):
    # The org's My Domain URL. Left out, the destination is refused unless the configuration
    # says ``sandbox: true``, which points it at SANDBOX_URL.
    instance_url: Annotated[str, Field(pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")] | None = None
    api_version: Annotated[str, Field(pattern=r"^\d{2,3}\.\d$")] = "62.0"
    auth: Annotated[
        Annotated[ClientCredentials, Tag("client_credentials")] | Annotated[JwtBearer, Tag("jwt")],
        Discriminator(_flow),
    ] = ClientCredentials()
    budget_share: Annotated[float, Field(gt=0, le=1)] = 0.8
    budget_delay_seconds: Annotated[float, Field(ge=0, le=60)] = 0.5
    daily_limit_pause_seconds: Annotated[float, Field(gt=0, le=2 * 86_400)] | None = None
    pricebook_id: str | None = None
    match_guests_by_email: bool = True
    max_batch: Annotated[int, Field(ge=1, le=2000)] = 200


@dataclass(frozen=True, slots=True)
class Credentials:
    """What the token endpoint needs, secrets resolved from the environment."""

    flow: str
    client_id: str
    token_url: str
    client_secret: SecretStr | None = None
    username: str | None = None
    private_key: SecretStr | None = None
    audience: str | None = None


@dataclass(frozen=True, slots=True)
class SalesforceSettings:
    instance_url: str
    api_version: str
    credentials: Credentials
    budget_share: float
    budget_delay_seconds: float
    daily_limit_pause_seconds: float | None
    pricebook_id: str | None
    match_guests_by_email: bool
    max_batch: int
    timeout_seconds: float

    @property
    def data_path(self) -> str:
        return f"/services/data/v{self.api_version}"


def load_settings(
    name: str,
    options: SalesforceOptions | Mapping[str, Any],
    *,
    timeout_seconds: float = 10.0,
    environ: Mapping[str, str] | None = None,
    sandbox: bool = False,
) -> SalesforceSettings:
    """Validate ``options`` and resolve secrets; raise ``ConfigError`` listing every problem.

    ``sandbox``: the configuration said ``sandbox: true``; only then may the URL be left out
    (the local sandbox's) and a loopback org go without a secret (the sandbox's built-in one).
    """
    env = dict(os.environ if environ is None else environ)
    where = f"destinations.{name}.options"
    try:
        parsed = SalesforceOptions.model_validate(options)
    except ValidationError as exc:
        raise ConfigError([_issue(where, error) for error in exc.errors()]) from exc
    if parsed.instance_url is None:
        if not sandbox:
            raise ConfigError([ConfigIssue(
                "options", f"{where}.instance_url", "no org URL",
                "add instance_url: https://<name>.my.salesforce.com, or sandbox: true",
            )])  # fmt: skip
        parsed = parsed.model_copy(update={"instance_url": SANDBOX_URL})
    issues: list[ConfigIssue] = []
    credentials = _credentials(where, parsed, env, issues, sandbox=sandbox)
    if issues:
        raise ConfigError(issues)
    return SalesforceSettings(
        instance_url=(parsed.instance_url or SANDBOX_URL).rstrip("/"),
        api_version=parsed.api_version,
        credentials=credentials,
        budget_share=parsed.budget_share,
        budget_delay_seconds=parsed.budget_delay_seconds,
        daily_limit_pause_seconds=parsed.daily_limit_pause_seconds,
        pricebook_id=parsed.pricebook_id,
        match_guests_by_email=parsed.match_guests_by_email,
        max_batch=parsed.max_batch,
        timeout_seconds=timeout_seconds,
    )


def _credentials(
    where: str,
    parsed: SalesforceOptions,
    env: dict[str, str],
    issues: list[ConfigIssue],
    *,
    sandbox: bool,
) -> Credentials:
    instance_url = parsed.instance_url or SANDBOX_URL
    token_url = f"{instance_url.rstrip('/')}/services/oauth2/token"
    auth = parsed.auth
    if isinstance(auth, ClientCredentials):
        secret = _secret(where, "auth.client_secret_env", auth.client_secret_env, env, issues)
        if secret is None and not issues:
            if sandbox and urlsplit(instance_url).hostname in _LOOPBACK:
                secret = SANDBOX_CLIENT_SECRET
            else:
                issues.append(ConfigIssue(
                    "options", f"{where}.auth.client_secret_env", "a real org needs a secret",
                    "set client_secret_env: NAME and export NAME=<consumer secret>",
                ))  # fmt: skip
        return Credentials(
            "client_credentials", auth.client_id, token_url, client_secret=_secret_str(secret)
        )
    key = _private_key(where, auth, env, issues)
    return Credentials(
        "jwt", auth.client_id, auth.token_url or token_url,
        username=auth.username, private_key=_secret_str(key), audience=auth.audience,
    )  # fmt: skip


def _secret_str(value: str | None) -> SecretStr | None:
    return SecretStr(value) if value is not None else None


def _private_key(
    where: str, auth: JwtBearer, env: Mapping[str, str], issues: list[ConfigIssue]
) -> str | None:
    if auth.private_key_env is not None:
        return _secret(where, "auth.private_key_env", auth.private_key_env, env, issues)
    if auth.private_key_file is not None:
        try:
            key = auth.private_key_file.read_text(encoding="utf-8")
            remember_secret(key)
            return key
        except OSError as exc:
            issues.append(ConfigIssue(
                "options", f"{where}.auth.private_key_file", f"cannot read it: {exc}",
                "point it at the PEM private key of the connected app's certificate",
            ))  # fmt: skip
            return None
    issues.append(ConfigIssue(
        "options", f"{where}.auth", "the jwt flow needs a private key",
        "add private_key_file: /path/key.pem or private_key_env: NAME",
    ))  # fmt: skip
    return None


def _secret(
    where: str, key: str, var: str | None, env: Mapping[str, str], issues: list[ConfigIssue]
) -> str | None:
    if var is None:
        return None
    value = env.get(var)
    remember_secret(value)
    if not value:
        issues.append(ConfigIssue(
            f"${var}", f"{where}.{key}", f"environment variable {var} is not set",
            f"export {var}=... before starting",
        ))  # fmt: skip
    return value


def _issue(where: str, error: Any) -> ConfigIssue:
    key = ".".join([where, *(str(part) for part in error["loc"])])
    fixes = {
        "extra_forbidden": "remove it, or check its spelling (see docs/salesforce.md)",
        "missing": "add it",
        "union_tag_invalid": "use flow: client_credentials or flow: jwt",
    }
    fix = fixes.get(error["type"], "give a value of the right type and range")
    return ConfigIssue("options", key, error["msg"], fix)

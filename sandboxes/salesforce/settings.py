"""What an operator or a test may set on the Salesforce sandbox, fixed when the app is built."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path


def utc_now() -> datetime:
    return datetime.now(UTC)


def default_schema_path() -> Path:
    """The declared org schema: ``mappings/`` in a checkout, ``outbox/_resources`` in a wheel.

    The sandbox serves describe and validation from the same file the mappings are checked
    against, so the two can never disagree about the org.
    """
    checkout = Path(__file__).resolve().parents[2] / "mappings" / "salesforce_schema.yaml"
    if checkout.exists():
        return checkout
    import outbox

    return Path(outbox.__file__).parent / "_resources" / "mappings" / "salesforce_schema.yaml"


@dataclass(frozen=True, slots=True)
class SandboxSettings:
    """Credentials, budgets and sizes of one sandbox org.

    ``clock`` and ``random_seed`` make token expiry, the daily counter, SystemModstamp and
    probabilistic faults repeatable in tests.
    """

    client_id: str = "sandbox-consumer-key"
    client_secret: str = "sandbox-consumer-secret"
    username: str = "integration@sandbox.invalid"
    token_lifetime: timedelta = timedelta(hours=2)
    daily_api_limit: int = 15000
    jwt_public_key: str | None = None
    jwt_audiences: tuple[str, ...] = ("https://login.salesforce.com", "https://test.salesforce.com")
    api_versions: tuple[str, ...] = tuple(f"{n}.0" for n in range(45, 65))
    query_batch_size: int = 2000
    schema_path: Path = field(default_factory=default_schema_path)
    seed_catalog: bool = True
    org_id: str = "00DSb0000000001AAA"
    user_id: str = "005Sb0000000001AAA"  # the integration user every token runs as
    admin_user_id: str = "005Sb0000000002AAA"  # the person behind the admin endpoints' changes
    random_seed: int | None = None
    clock: Callable[[], datetime] = utc_now

    @property
    def latest_version(self) -> str:
        return max(self.api_versions, key=float)

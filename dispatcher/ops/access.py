"""Who may look at the console and who may act from it.

Read-only pages need no login while the server listens on loopback only: whoever can reach it
already has a shell on the host. Any action (retry, cancel), and every page of a server bound to
another address, needs an operator who signed in with a token from the daemon's environment,
never from the config file (which is often readable by more people than the secrets are):

- ``OUTBOX_CONSOLE_USERS="ada:<token>,grace:<token>"``: one token per operator, whose name goes
  into ``outbox.operator_actions``;
- ``OUTBOX_CONSOLE_TOKEN=<token>``: one shared token; the operator types a name at sign-in.

A signed-in browser holds an HMAC-signed session cookie (HttpOnly, SameSite=Strict); every
action also carries a CSRF token derived from that cookie, so another site cannot make the
browser act. The signing key is random per process: a restart signs everybody out.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

USERS_ENV = "OUTBOX_CONSOLE_USERS"
TOKEN_ENV = "OUTBOX_CONSOLE_TOKEN"
MIN_TOKEN_LENGTH = 16
SESSION_SECONDS = 8 * 3600.0
_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")

HOW_TO_CONFIGURE = (
    f"set {USERS_ENV}=name:token[,name:token...] (or {TOKEN_ENV}=token) in the daemon's "
    f"environment, tokens of at least {MIN_TOKEN_LENGTH} characters, and restart it"
)


@dataclass(frozen=True)
class Access:
    """The console's access policy, built at start from the environment and the bind address."""

    users: Mapping[str, str]  # operator name -> token; empty with a shared token
    shared_token: str | None
    loopback: bool
    problem: str | None = None  # why the environment's settings were refused, if they were
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    clock: Callable[[], float] = time.time

    @classmethod
    def from_environment(
        cls, env: Mapping[str, str], host: str, *, clock: Callable[[], float] = time.time
    ) -> Access:
        users, shared, problem = _parse(env)
        return cls(users, shared, is_loopback(host), problem, clock=clock)

    @property
    def configured(self) -> bool:
        return bool(self.users) or self.shared_token is not None

    @property
    def open_views(self) -> bool:
        """Read-only pages without a login: only on a loopback-only server."""
        return self.loopback

    def refusal(self, what: str) -> str:
        """The sentence shown when ``what`` cannot be done because no operator is configured."""
        because = f" ({self.problem})" if self.problem else ""
        return (
            f"{what} is disabled: no console operator is configured{because}; {HOW_TO_CONFIGURE}."
        )

    def sign_in(self, name: str, token: str) -> str | None:
        """A session cookie for a right name and token, else None (never says which was wrong)."""
        name = name.strip()
        if not _NAME.match(name):
            return None
        if self.users:
            expected = self.users.get(name)
            good = expected is not None and hmac.compare_digest(expected, token)
        else:
            good = self.shared_token is not None and hmac.compare_digest(self.shared_token, token)
        if not good:
            return None
        expires = int(self.clock() + SESSION_SECONDS)
        return f"{name}.{expires}.{self._sign('session', f'{name}.{expires}')}"

    def operator(self, cookie: str | None) -> str | None:
        """The operator a session cookie names, when it is ours and not expired."""
        if not cookie or not self.configured:
            return None
        parts = cookie.rsplit(".", 2)
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        name, expires, signature = parts
        if not hmac.compare_digest(signature, self._sign("session", f"{name}.{expires}")):
            return None
        if int(expires) < self.clock() or (self.users and name not in self.users):
            return None
        return name

    def csrf_token(self, cookie: str) -> str:
        return self._sign("csrf", cookie)

    def csrf_ok(self, cookie: str | None, token: str | None) -> bool:
        return bool(cookie and token) and hmac.compare_digest(
            self.csrf_token(cookie or ""), token or ""
        )

    def _sign(self, purpose: str, text: str) -> str:
        return hmac.new(self.secret, f"{purpose}|{text}".encode(), hashlib.sha256).hexdigest()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _parse(env: Mapping[str, str]) -> tuple[dict[str, str], str | None, str | None]:
    users: dict[str, str] = {}
    for entry in filter(None, (e.strip() for e in env.get(USERS_ENV, "").split(","))):
        name, sep, token = entry.partition(":")
        if not sep or not _NAME.match(name.strip()):
            return {}, None, f"{USERS_ENV} entry {name.strip()[:20]!r} is not name:token"
        if len(token) < MIN_TOKEN_LENGTH:
            return {}, None, f"{USERS_ENV}: the token of {name.strip()!r} is too short"
        users[name.strip()] = token
    shared = env.get(TOKEN_ENV) or None
    if shared is not None and len(shared) < MIN_TOKEN_LENGTH:
        return {}, None, f"{TOKEN_ENV} is too short"
    if users and shared:
        return {}, None, f"set {USERS_ENV} or {TOKEN_ENV}, not both"
    return users, shared, None

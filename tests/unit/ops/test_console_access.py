"""The console's access policy: what the environment configures and what a session proves."""

from __future__ import annotations

import pytest

from dispatcher.ops.access import SESSION_SECONDS, Access, is_loopback

TOKEN = "a-token-of-twenty-chars"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("::1", True), ("localhost", True), ("0.0.0.0", False),
     ("10.1.2.3", False), ("console.example", False)],
)  # fmt: skip
def test_access_loopback_is_judged_by_the_bind_address(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
    assert Access.from_environment({}, host).open_views is loopback


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"OUTBOX_CONSOLE_USERS": "ada"}, "is not name:token"),
        ({"OUTBOX_CONSOLE_USERS": "ada:short"}, "too short"),
        ({"OUTBOX_CONSOLE_TOKEN": "short"}, "too short"),
        ({"OUTBOX_CONSOLE_USERS": f"ada:{TOKEN}", "OUTBOX_CONSOLE_TOKEN": TOKEN}, "not both"),
    ],
)
def test_access_refuses_bad_settings_with_the_fix(env: dict[str, str], problem: str) -> None:
    access = Access.from_environment(env, "127.0.0.1")
    assert not access.configured
    assert access.problem is not None
    assert problem in access.problem
    refusal = access.refusal("Acting")
    assert problem in refusal
    assert "OUTBOX_CONSOLE_USERS=name:token" in refusal


def test_access_session_names_the_operator_until_it_expires() -> None:
    clock = Clock()
    access = Access.from_environment(
        {"OUTBOX_CONSOLE_USERS": f"ada:{TOKEN},bob:{TOKEN[::-1]}"}, "0.0.0.0", clock=clock
    )
    assert access.sign_in("ada", TOKEN[::-1]) is None
    assert access.sign_in("eve", TOKEN) is None
    cookie = access.sign_in("ada", TOKEN)
    assert cookie is not None
    assert access.operator(cookie) == "ada"
    assert access.operator(cookie.replace("ada.", "bob.")) is None  # the signature covers the name
    clock.now += SESSION_SECONDS + 1
    assert access.operator(cookie) is None


def test_access_csrf_token_is_tied_to_the_session_and_the_process() -> None:
    access = Access.from_environment({"OUTBOX_CONSOLE_TOKEN": TOKEN}, "127.0.0.1")
    cookie = access.sign_in("grace", TOKEN)
    assert cookie is not None
    assert access.operator(cookie) == "grace"
    token = access.csrf_token(cookie)
    assert access.csrf_ok(cookie, token)
    assert not access.csrf_ok(cookie, None)
    assert not access.csrf_ok(None, token)
    other = Access.from_environment({"OUTBOX_CONSOLE_TOKEN": TOKEN}, "127.0.0.1")
    assert other.operator(cookie) is None  # a restart signs everybody out
    assert not other.csrf_ok(cookie, token)

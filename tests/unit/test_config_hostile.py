"""Broken and hostile configuration files: each refused at start with file, line and fix."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from dispatcher.config import destination_config, load
from dispatcher.core.errors import ConfigError
from dispatcher.core.redact import forget_secrets, redact

BOMB = "\n".join(
    ["a: &a [x, x, x, x, x, x, x, x, x]"]
    + [f"{chr(98 + n)}: &{chr(98 + n)} [{', '.join([f'*{chr(97 + n)}'] * 9)}]" for n in range(8)]
)


def refused(
    tmp_path: Path, text: str | bytes, environ: dict[str, str] | None = None
) -> ConfigError:
    path = tmp_path / "outbox.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load(path, environ=environ or {})
    return caught.value


def keys(error: ConfigError) -> dict[str, tuple[str, str]]:
    return {issue.key: (issue.where.rsplit(":", 1)[-1], issue.problem) for issue in error.issues}


def test_config_alias_bomb_is_refused_in_well_under_a_second(tmp_path: Path) -> None:
    started = time.perf_counter()
    error = refused(tmp_path, BOMB)
    assert time.perf_counter() - started < 0.5
    (issue,) = error.issues
    assert "aliases expand it to more than" in issue.problem
    assert issue.where.startswith(str(tmp_path / "outbox.yaml") + ":")


def test_config_recursive_alias_is_refused(tmp_path: Path) -> None:
    error = refused(tmp_path, "dispatcher: &d\n  again: *d\n")
    (issue,) = error.issues
    assert issue.problem == "an alias refers to a node that contains it"


def test_config_deeply_nested_file_is_refused(tmp_path: Path) -> None:
    error = refused(tmp_path, "jobs: " + "[" * 5000 + "]" * 5000 + "\n")
    (issue,) = error.issues
    assert issue.problem == "nested too deeply"


def test_config_not_utf8_names_the_line(tmp_path: Path) -> None:
    error = refused(tmp_path, b"dispatcher:\n  http_host: caf\xe9\n")
    (issue,) = error.issues
    assert issue.where == f"{tmp_path / 'outbox.yaml'}:2"
    assert issue.fix == "save the file as UTF-8"


def test_config_top_level_list_is_refused(tmp_path: Path) -> None:
    assert refused(tmp_path, "- a\n- b\n").issues[0].problem == "not a mapping of keys"


def test_config_every_problem_at_once_with_its_line(tmp_path: Path) -> None:
    error = refused(
        tmp_path,
        "dispatcher:\n"
        "  poll_interval_seconds: 1e30\n"  # 2
        "  lease_seconds: .inf\n"  # 3
        "  http_host: 'not a host!'\n"  # 4
        "jobs:\n"
        "  reconcile: {interval_seconds: .nan}\n"  # 6
        "destinations:\n"
        "  hook:\n"
        "    type: webhook\n"
        "    url: 'ftp://example.org/x'\n"  # 10
        "  bad_headers:\n"
        "    type: webhook\n"
        "    url: https://example.org/hook\n"
        "    headers_env: {'X Bad': TOKEN}\n"  # 14
        "  sf:\n"
        "    type: salesforce\n"
        "    options:\n"
        "      instance_url: https://acme.my.salesforce.com\n"
        "      budget_share: 5\n"  # 19
        "  tk:\n"
        "    type: thinkific\n"
        "    options: {base_url: https://api.thinkific.com/api/public/v1, timeout_seconds: .inf}\n",
    )
    found = keys(error)
    assert found["dispatcher.poll_interval_seconds"][0] == "2"
    assert found["dispatcher.lease_seconds"][0] == "3"
    assert found["dispatcher.http_host"] == ("4", "Value error, not an IP address or a host name")
    assert found["jobs.reconcile.interval_seconds"][0] == "6"
    assert found["destinations.hook.url"][0] == "10"
    assert "RFC 9110" in found["destinations.bad_headers.headers_env"][1]
    assert found["destinations.sf.options.budget_share"][0] == "19"
    assert found["destinations.tk.options.timeout_seconds"][0] == "22"
    assert len(found) == 8


def test_config_missing_secret_variables_are_reported_with_their_lines(tmp_path: Path) -> None:
    error = refused(
        tmp_path,
        "destinations:\n"
        "  sf:\n"
        "    type: salesforce\n"
        "    options:\n"
        "      instance_url: https://acme.my.salesforce.com\n"
        "      auth: {client_id: k, client_secret_env: SF_SECRET}\n"  # 6
        "  tk:\n"
        "    type: thinkific\n"
        "    options:\n"
        "      base_url: https://api.thinkific.com/api/public/v1\n"
        "      subdomain: acme\n"
        "      api_key_env: TK_KEY\n",  # 12
    )
    found = keys(error)
    assert found["destinations.sf.options.auth.client_secret_env"] == (
        "6", "environment variable SF_SECRET is not set",
    )  # fmt: skip
    assert found["destinations.tk.options.api_key_env"] == (
        "12", "environment variable TK_KEY is not set",
    )  # fmt: skip


@pytest.mark.parametrize("kind", ["salesforce", "thinkific"])
def test_config_native_destination_without_url_needs_sandbox_true(
    tmp_path: Path, kind: str
) -> None:
    error = refused(tmp_path, f"destinations:\n  {kind}:\n    type: {kind}\n    options: {{}}\n")
    (issue,) = error.issues
    assert "sandbox: true" in issue.problem
    assert issue.where.endswith(":2") or issue.where.endswith(":4")


def test_config_sandbox_true_points_at_the_local_sandbox(tmp_path: Path) -> None:
    path = tmp_path / "outbox.yaml"
    path.write_text(
        "destinations:\n"
        "  salesforce: {type: salesforce, sandbox: true}\n"
        "  thinkific:\n"
        "    type: thinkific\n"
        "    sandbox: true\n"
        "    options: {subdomain: sandbox, api_key_env: TK_KEY}\n"
    )
    config = load(path, environ={"TK_KEY": "k"})
    assert config.destinations["salesforce"].options.instance_url == "http://127.0.0.1:8701"  # type: ignore[union-attr]
    assert config.destinations["thinkific"].options.base_url == (  # type: ignore[union-attr]
        "http://127.0.0.1:8702/api/public/v1"
    )


def test_config_secrets_never_print_and_are_masked_once_known(tmp_path: Path) -> None:
    forget_secrets()
    path = tmp_path / "outbox.yaml"
    path.write_text(
        "destinations:\n"
        "  sf:\n"
        "    type: salesforce\n"
        "    options:\n"
        "      instance_url: https://acme.my.salesforce.com\n"
        "      auth: {client_id: k, client_secret_env: SF_SECRET}\n"
        "  hook:\n"
        "    type: webhook\n"
        "    url: https://example.org/hook\n"
        "    headers_env: {Authorization: HOOK_TOKEN}\n"
    )
    config = load(path, environ={"SF_SECRET": "consumer-secret-42", "HOOK_TOKEN": "hook-token-43"})
    from dispatcher.destinations.salesforce import load_settings

    sf = config.destinations["sf"]
    settings = load_settings("sf", sf.options, environ={"SF_SECRET": "consumer-secret-42"})  # type: ignore[union-attr]
    shown = f"{config!r} {settings!r} {settings.credentials}"
    assert "consumer-secret-42" not in shown
    assert redact("echo consumer-secret-42 and hook-token-43") == "echo [redacted] and [redacted]"
    forget_secrets()


def test_config_unknown_destination_type_names_the_choices() -> None:
    with pytest.raises(ValueError, match=r"union_tag_invalid"):
        destination_config(type="smtp")

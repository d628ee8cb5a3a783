"""Secrets and personal data stay out of attempt rows, logs, the status page and reports."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
import yaml

from dispatcher.cli import logs
from dispatcher.core.redact import (
    forget_secrets,
    is_personal_key,
    mask,
    personal_values,
    redact,
    remember_secret,
    scrub_values,
)
from outbox.resources import resource_dir

# Fields the shipped mappings write that carry a person's or household's data (the e-mail
# fields too: their values are shortened to a***@example.org by shape, wherever they appear).
PERSONAL_FIELDS = {
    "salesforce": {"Name", "FirstName", "LastName", "MailingStreet", "MailingCity",
                   "MailingPostalCode", "MailingState", "MailingCountry"},
    "thinkific": {"first_name", "last_name", "company"},
}  # fmt: skip
EMAIL_FIELDS = {"salesforce": "Email", "thinkific": "email"}


@pytest.fixture
def secrets() -> Iterator[None]:
    forget_secrets()
    yield
    forget_secrets()


@pytest.fixture
def log_sink() -> Iterator[io.StringIO]:
    sink = io.StringIO()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    logs.configure(file=sink)
    yield sink
    structlog.reset_defaults()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def _written_fields(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "fields" and isinstance(value, dict):
                found |= set(value)
            if key == "external_id" and isinstance(value, dict) and "field" in value:
                found.add(value["field"])
            found |= _written_fields(value)
    elif isinstance(node, list):
        for item in node:
            found |= _written_fields(item)
    return found


@pytest.mark.parametrize("destination", sorted(PERSONAL_FIELDS))
def test_redact_masks_every_personal_field_the_mappings_write(destination: str) -> None:
    document = yaml.safe_load((resource_dir("mappings") / f"{destination}.yaml").read_text())
    written = _written_fields(document["objects"])
    assert PERSONAL_FIELDS[destination] | {EMAIL_FIELDS[destination]} <= written
    email = EMAIL_FIELDS[destination]
    assert redact(f'{{"{email}": "ada@example.org"}}') == f'{{"{email}": "a***@example.org"}}'
    for field in PERSONAL_FIELDS[destination]:
        assert is_personal_key(field), field
        text = redact(f'{{"{field}": "Ada Lovelace 12", "{field}Code": 5}} {field}=Ada')
        assert "Ada" not in text, text


@pytest.mark.parametrize(
    "field", ["HomePhone", "MobilePhone", "BillingCity", "BillingStreet", "ShippingPostalCode",
              "OtherCountry", "Event_Name__c", "phone_number", "address_line2"],
)  # fmt: skip
def test_redact_masks_salesforce_personal_fields_by_name(field: str) -> None:
    assert redact(f'Account: {{"{field}": "Leeds LS1"}}') == f'Account: {{"{field}": [redacted]}}'


def test_redact_keeps_fields_that_are_not_personal() -> None:
    text = '{"Status": "Paid", "Order_Total__c": 12.5, "destination": "salesforce"}'
    assert redact(text) == text


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("Authorization: Basic dXNlcjpzZWNyZXRwYXNz", "dXNlcjpzZWNyZXRwYXNz"),
        ("authorization=Token abcdef123456", "abcdef123456"),
        ("'Authorization': 'Bearer 00Dxx0000001gPL!AQ4AQ'", "00Dxx0000001gPL"),
        ("session 00D5g000004QwErEAK!ARsAQFakeTokenValue.1234567890abc used", "ARsAQFake"),
        ("call +44 20 7946 0958 or (415) 555-0134", "7946"),
        ("call +44 20 7946 0958 or (415) 555-0134", "555-0134"),
    ],
)
def test_redact_masks_credentials_and_phone_numbers_in_prose(text: str, hidden: str) -> None:
    assert hidden not in redact(text)


def test_redact_leaves_timestamps_and_ids_alone() -> None:
    text = "at 2026-12-02T06:21:27.213832+00:00 message 123456789 took 1234.5 ms"
    assert redact(text) == text


def test_redact_known_secret_is_masked_anywhere(secrets: None) -> None:
    remember_secret("s3cr3t-consumer-value")
    sentence = "invalid client credentials for s3cr3t-consumer-value (client s3cr3t-consumer-value)"
    assert "s3cr3t" not in redact(sentence)
    assert redact("nothing secret here") == "nothing secret here"


def test_redact_scrubs_the_names_a_message_carries_from_its_own_error() -> None:
    payload = {"customer": {"first_name": "Ada", "last_name": "Lovelace", "phone": "0113 496"}}
    values = personal_values(payload)
    assert values == {"Ada", "Lovelace", "0113 496"}
    assert scrub_values("Lovelace, Ada cannot be found", values) == (
        "[redacted], [redacted] cannot be found"
    )


def test_logs_library_lines_take_the_json_pipeline_and_masking(
    log_sink: io.StringIO, secrets: None
) -> None:
    remember_secret("pool-password-value")
    logging.getLogger("psycopg.pool").warning(
        "error connecting in 'pool-1': password pool-password-value refused"
    )
    logging.getLogger("uvicorn.error").error("HomePhone=0113496000 in request")
    logging.getLogger("dispatcher.mapping.reload").warning("reloaded for a***@example.org")
    logging.getLogger("httpx").info("HTTP Request: POST https://x/ 200 OK")  # below WARNING
    structlog.get_logger("t").error("refused", problems=["Authorization: Bearer abcdefgh123"])
    lines = [json.loads(line) for line in log_sink.getvalue().splitlines()]
    assert [line.get("logger") for line in lines[:3]] == [
        "psycopg.pool", "uvicorn.error", "dispatcher.mapping.reload",
    ]  # fmt: skip
    assert all({"event", "level", "timestamp"} <= set(line) for line in lines)
    assert len(lines) == 4
    text = log_sink.getvalue()
    for leaked in ("pool-password-value", "0113496000", "abcdefgh123"):
        assert leaked not in text


def test_logs_exception_traceback_is_masked(log_sink: io.StringIO, secrets: None) -> None:
    remember_secret("token-in-a-traceback")
    try:
        raise RuntimeError("refused token-in-a-traceback")
    except RuntimeError:
        logging.getLogger("psycopg.pool").exception("failed")
    (line,) = [json.loads(line) for line in log_sink.getvalue().splitlines()]
    assert "RuntimeError" in line["exception"]
    assert "token-in-a-traceback" not in log_sink.getvalue()


def test_mask_is_idempotent() -> None:
    text = mask('{"FirstName": "Ada", "email": "ada@example.org"}')
    assert mask(text) == text


def test_status_page_masks_secrets_and_personal_data_in_dead_letters(secrets: None) -> None:
    from datetime import UTC, datetime

    from dispatcher.ops.glance import _tables
    from dispatcher.ops.sampler import Snapshot

    remember_secret("client-secret-value-9")
    dead = [(1, "salesforce", "order.placed", "HTTP_400",
             "bad client-secret-value-9 for HomePhone=0113496000 <b>", 1, None)]  # fmt: skip
    page = _tables(Snapshot(dead=dead), datetime.now(UTC))
    assert "client-secret-value-9" not in page
    assert "0113496000" not in page
    assert "&lt;b&gt;" in page

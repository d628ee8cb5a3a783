"""``outbox run`` over rows a careless storefront wrote with plain SQL: it stays up, the bad
messages die alone, every innocent message of the same batches is delivered."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.fixtures.processes import dispatchers, stop, wait_for, write_config
from tests.fixtures.webhook_server import Receiver, webhook_receiver

pytestmark = pytest.mark.slow


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as r:
        yield r


def test_run_hostile_rows_die_alone_and_the_daemon_delivers_the_rest(
    db_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    deep = '{"a": ' + "[" * 1000 + "]" * 1000 + "}"
    bad = {7: ("order.placed", deep), 13: ("order.plac\u00e9d", "{}"), 21: ("\u202eevil", "{}")}
    with psycopg.connect(db_url) as conn:
        for n in range(40):
            event_type, payload = bad.get(n, ("order.placed", f'{{"n": {n}}}'))
            conn.execute(
                "INSERT INTO outbox.messages (destination, event_type, payload, idempotency_key)"
                " VALUES ('webhook', %s, %s::jsonb, %s)",
                (event_type, payload, f"k{n}"),
            )
    config = write_config(
        tmp_path, webhook={"type": "webhook", "url": receiver.url, "batch_size": 40}
    )
    log = tmp_path / "log"

    def settled() -> bool:
        with psycopg.connect(db_url) as conn:
            row = conn.execute(
                "SELECT count(*) FROM outbox.messages WHERE status IN ('delivered', 'dead')"
            ).fetchone()
        return row == (40,)

    with dispatchers(db_url, config, log) as (proc,):
        wait_for(settled, timeout=60)
        assert proc.poll() is None, log.read_text()[-2000:]
        assert stop(proc) == 0
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT idempotency_key, status::text, last_error_code, attempts"
            " FROM outbox.messages ORDER BY id"
        ).fetchall()
    by_key = {key: (status, code, attempts) for key, status, code, attempts in rows}
    assert by_key.pop("k7") == ("dead", "UNREADABLE_PAYLOAD", 1)
    assert by_key.pop("k13") == ("dead", "UNENCODABLE_MESSAGE", 1)
    assert by_key.pop("k21") == ("dead", "UNENCODABLE_MESSAGE", 1)
    assert set(by_key.values()) == {("delivered", None, 1)}
    assert sorted(receiver.counts) == sorted(by_key)

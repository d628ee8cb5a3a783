"""The operator console over a real database: who may look, who may act, what an action records."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette

from dispatcher.core.destination import Result
from dispatcher.core.metrics import Metrics
from dispatcher.mapping import load
from dispatcher.ops.access import Access
from dispatcher.ops.console import COOKIE, Console
from dispatcher.ops.sampler import Sampler
from dispatcher.ops.web import create_app
from outbox.resources import resource_dir
from outbox.shop import place_order
from tests.fixtures.catalog import customer_factory, line, order_factory, product_factory
from tests.fixtures.console import csrf_of, deliver_all, publish_factory

TOKEN = "s3cret-token-of-ada-0001"
USERS = {"OUTBOX_CONSOLE_USERS": f"ada:{TOKEN},grace:another-token-0000002"}
BASE = "http://127.0.0.1:8700"

AppFactory = Callable[[dict[str, str], str], Starlette]


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[AsyncConnectionPool[Any]]:
    async with AsyncConnectionPool(
        db_url, min_size=1, max_size=3, open=False, kwargs={"autocommit": True}
    ) as p:
        yield p


@pytest.fixture
async def aconn(db_url: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as c:
        yield c


@pytest.fixture
def app_factory(pool: AsyncConnectionPool[Any]) -> AppFactory:
    def build(env: dict[str, str], host: str = "127.0.0.1") -> Starlette:
        metrics = Metrics()
        console = Console(pool, Access.from_environment(env, host))
        sampler = Sampler(pool, metrics, 1.0)
        return create_app(metrics, sampler, console, mappings_ok=lambda: True, worker_id="w-1")

    return build


def client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)


async def sign_in(http: httpx.AsyncClient, name: str = "ada", token: str = TOKEN) -> None:
    answer = await http.post("/login", data={"name": name, "token": token, "next": "/dead"})
    assert answer.status_code == 303, answer.text
    assert COOKIE in http.cookies


async def one_dead(conn: psycopg.Connection[Any], aconn: psycopg.AsyncConnection[Any]) -> int:
    message_id = publish_factory(conn, {"n": 1})
    await deliver_all(aconn, Result.DEAD, "INVALID_FIELD")
    return message_id


def audit(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    rows = conn.execute(
        "SELECT actor, action, message_id, destination, detail, reason, affected "
        "FROM outbox.operator_actions ORDER BY id"
    ).fetchall()
    conn.commit()
    return rows


def status_of(conn: psycopg.Connection[Any], message_id: int) -> str:
    row = conn.execute("SELECT status::text FROM outbox.messages WHERE id = %s", (message_id,))
    status = row.fetchone()
    conn.commit()
    assert status is not None
    return str(status[0])


async def test_console_views_need_no_login_on_loopback(
    conn: psycopg.Connection[Any], aconn: psycopg.AsyncConnection[Any], app_factory: AppFactory
) -> None:
    await one_dead(conn, aconn)
    async with client(app_factory({}, "127.0.0.1")) as http:
        dead = await http.get("/dead")
        status = await http.get("/")
    assert dead.status_code == 200
    assert "INVALID_FIELD" in dead.text
    assert 'name="csrf"' not in dead.text  # nobody signed in: no action forms
    assert "Sign in" in dead.text
    assert status.status_code == 200
    assert "default-src 'none'" in dead.headers["content-security-policy"]


async def test_console_off_loopback_without_operators_refuses_pages_but_not_metrics(
    app_factory: AppFactory,
) -> None:
    async with client(app_factory({}, "0.0.0.0")) as http:
        dead = await http.get("/dead")
        status = await http.get("/")
        metrics = await http.get("/metrics")
        health = await http.get("/healthz")
    assert dead.status_code == status.status_code == 403
    assert "OUTBOX_CONSOLE_USERS" in dead.text
    assert "non-loopback" in dead.text
    assert metrics.status_code == health.status_code == 200


async def test_console_off_loopback_asks_for_a_sign_in_then_shows_the_page(
    app_factory: AppFactory,
) -> None:
    async with client(app_factory(USERS, "0.0.0.0")) as http:
        first = await http.get("/dead?destination=webhook")
        await sign_in(http)
        second = await http.get("/dead")
    assert first.status_code == 303
    assert first.headers["location"] == "/login?next=%2Fdead%3Fdestination%3Dwebhook"
    assert second.status_code == 200
    assert "ada" in second.text


async def test_console_sign_in_with_a_wrong_token_is_refused(app_factory: AppFactory) -> None:
    async with client(app_factory(USERS, "127.0.0.1")) as http:
        wrong = await http.post("/login", data={"name": "ada", "token": "x" * 24})
        other = await http.post("/login", data={"name": "grace", "token": TOKEN})
    assert wrong.status_code == other.status_code == 401
    assert "Wrong name or token" in wrong.text
    assert COOKIE not in http.cookies


async def test_console_action_without_a_token_is_refused_and_changes_nothing(
    conn: psycopg.Connection[Any], aconn: psycopg.AsyncConnection[Any], app_factory: AppFactory
) -> None:
    message_id = await one_dead(conn, aconn)
    form = {"message_id": str(message_id), "reason": "field restored", "csrf": "0" * 64}
    async with client(app_factory(USERS, "127.0.0.1")) as http:
        anonymous = await http.post("/actions/retry", data=form)
        http.cookies.set(COOKIE, f"ada.9999999999.{'0' * 64}")
        forged = await http.post("/actions/retry", data=form)
    async with client(app_factory({}, "127.0.0.1")) as http:
        unconfigured = await http.post("/actions/retry", data=form)
    assert anonymous.status_code == forged.status_code == 401
    assert unconfigured.status_code == 403
    assert "OUTBOX_CONSOLE_USERS" in unconfigured.text
    assert status_of(conn, message_id) == "dead"
    assert audit(conn) == []


async def test_console_action_needs_its_csrf_token_and_our_origin(
    conn: psycopg.Connection[Any], aconn: psycopg.AsyncConnection[Any], app_factory: AppFactory
) -> None:
    message_id = await one_dead(conn, aconn)
    async with client(app_factory(USERS, "127.0.0.1")) as http:
        await sign_in(http)
        csrf = csrf_of((await http.get("/dead")).text)
        form = {"message_id": str(message_id), "reason": "field restored"}
        missing = await http.post("/actions/retry", data=form)
        wrong = await http.post("/actions/retry", data={**form, "csrf": "f" * 64})
        elsewhere = await http.post(
            "/actions/retry",
            data={**form, "csrf": csrf},
            headers={"origin": "http://evil.example"},
        )
        as_json = await http.post("/actions/retry", json={**form, "csrf": csrf})
    assert missing.status_code == wrong.status_code == elsewhere.status_code == 403
    assert "CSRF" in wrong.text
    assert "another site" in elsewhere.text
    assert as_json.status_code == 415
    assert status_of(conn, message_id) == "dead"
    assert audit(conn) == []


async def test_console_retry_is_audited_under_the_operator_name(
    conn: psycopg.Connection[Any], aconn: psycopg.AsyncConnection[Any], app_factory: AppFactory
) -> None:
    message_id = await one_dead(conn, aconn)
    async with client(app_factory(USERS, "127.0.0.1")) as http:
        await sign_in(http)
        csrf = csrf_of((await http.get("/dead")).text)
        form = {"message_id": str(message_id), "csrf": csrf}
        no_reason = await http.post("/actions/retry", data={**form, "reason": " "})
        done = await http.post("/actions/retry", data={**form, "reason": "field restored"})
        after = await http.get(done.headers["location"])
    assert no_reason.status_code == 400
    assert "Say why" in no_reason.text
    assert done.status_code == 303
    assert f"message {message_id} queued again" in after.text
    assert status_of(conn, message_id) == "pending"
    assert audit(conn) == [("console:ada", "retry", message_id, None, None, "field restored", 1)]


async def test_console_dead_letters_grouped_by_cause_and_retried_by_cause(
    conn: psycopg.Connection[Any], aconn: psycopg.AsyncConnection[Any], app_factory: AppFactory
) -> None:
    for n in range(3):
        publish_factory(conn, {"n": n})
    await deliver_all(aconn, Result.DEAD, "STRING_TOO_LONG")
    for n in range(2):
        publish_factory(conn, {"n": n})
    await deliver_all(aconn, Result.DEAD, "INVALID_FIELD")
    async with client(app_factory(USERS, "127.0.0.1")) as http:
        await sign_in(http)
        page = (await http.get("/dead")).text
        done = await http.post(
            "/actions/retry-cause",
            data={
                "destination": "webhook",
                "error_code": "INVALID_FIELD",
                "reason": "mapping fixed",
                "csrf": csrf_of(page),
            },
        )
        after = (await http.get(done.headers["location"])).text
    causes = page.split('id="causes"')[1].split("</table>")[0]
    assert "STRING_TOO_LONG</a></td><td>3</td>" in causes
    assert "INVALID_FIELD</a></td><td>2</td>" in causes
    assert "first seen" in causes
    assert " ago</time>" in causes
    assert "2 dead message(s) of webhook with INVALID_FIELD queued again" in after
    assert audit(conn) == [
        (
            "console:ada",
            "retry_dead",
            None,
            "webhook",
            "error_code=INVALID_FIELD",
            "mapping fixed",
            2,
        )
    ]


async def test_console_cancel_is_audited_and_frees_the_key(
    conn: psycopg.Connection[Any], aconn: psycopg.AsyncConnection[Any], app_factory: AppFactory
) -> None:
    head = publish_factory(conn, {"n": 1}, key="order:SO-7")
    behind = publish_factory(conn, {"n": 2}, key="order:SO-7")
    async with client(app_factory({"OUTBOX_CONSOLE_TOKEN": TOKEN}, "127.0.0.1")) as http:
        await sign_in(http, name="grace")
        csrf = csrf_of((await http.get(f"/messages/{head}")).text)
        done = await http.post(
            "/actions/cancel", data={"message_id": str(head), "reason": "duplicate", "csrf": csrf}
        )
    assert done.status_code == 303
    assert status_of(conn, head) == "cancelled"
    assert audit(conn) == [("console:grace", "cancel", head, None, None, "duplicate", 1)]
    assert await deliver_all(aconn, Result.DELIVERED) == [behind]


async def test_console_dead_letters_are_paged(
    conn: psycopg.Connection[Any], aconn: psycopg.AsyncConnection[Any], app_factory: AppFactory
) -> None:
    conn.execute(
        "INSERT INTO outbox.messages (destination, event_type, payload, status, last_error_code) "
        "SELECT 'webhook', 'bulk', jsonb_build_object('n', g), 'dead', 'INVALID_FIELD' "
        "FROM generate_series(1, 120) g"
    )
    conn.commit()
    async with client(app_factory({}, "127.0.0.1")) as http:
        first = (await http.get("/dead")).text
        older = first.split('id="older" href="')[1].split('"')[0].replace("&amp;", "&")
        second = (await http.get(older)).text
        third = (await http.get(second.split('id="older" href="')[1].split('"')[0])).text
    rows = [
        p.split('id="dead"')[1].split("</table>")[0].count("/messages/")
        for p in (first, second, third)
    ]
    assert rows == [50, 50, 20]
    assert 'id="older"' not in third


async def place_sample_order(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    book = product_factory(conn)
    course = product_factory(conn, "digital_license")
    buyer = customer_factory(email="Ada.Lovelace@example.org", last_name="Lovelace")
    place_order(conn, order_factory(line(book), line(course), number="SO-1042", customer=buyer))
    conn.commit()
    rows = conn.execute(
        "SELECT id, destination, correlation_id::text FROM outbox.messages ORDER BY id"
    ).fetchall()
    conn.commit()
    return {"ids": [r[0] for r in rows], "by": {r[1]: r[0] for r in rows}, "corr": rows[0][2]}


def result_ids(page: str) -> list[int]:
    table = page.split('id="results"')[1].split("</table>")[0]
    return [int(x) for x in re.findall(r'href="/messages/(\d+)"', table)]


async def test_console_find_by_order_email_key_correlation_and_id(
    conn: psycopg.Connection[Any], app_factory: AppFactory
) -> None:
    order = await place_sample_order(conn)
    other = publish_factory(conn, {"n": 1}, key="customer:c-77")
    newest_first = sorted(order["ids"], reverse=True)
    async with client(app_factory({}, "127.0.0.1")) as http:
        by_number = (await http.get("/find", params={"q": "SO-1042"})).text
        by_email = (await http.get("/find", params={"q": "ADA.LOVELACE@example.org"})).text
        by_corr = (await http.get("/find", params={"q": order["corr"]})).text
        by_id = (await http.get("/find", params={"q": str(other)})).text
        by_key = (await http.get("/find", params={"q": "customer:c-77"})).text
        by_order_key = (await http.get("/find", params={"q": "order:SO-1042"})).text
        nothing = (await http.get("/find", params={"q": "SO-0000"})).text
    assert result_ids(by_number) == newest_first
    assert result_ids(by_email) == newest_first
    assert result_ids(by_corr) == newest_first
    assert result_ids(by_id) == [other]
    assert result_ids(by_key) == [other]
    assert set(result_ids(by_order_key)) == set(order["ids"])
    assert result_ids(nothing) == []
    assert "0 message(s)" in nothing
    assert "lovelace@" not in by_email.lower()  # matched, never shown back in full
    assert "A***@example.org" in by_email


async def test_console_message_page_tells_its_life_with_personal_fields_masked(
    conn: psycopg.Connection[Any], aconn: psycopg.AsyncConnection[Any], app_factory: AppFactory
) -> None:
    order = await place_sample_order(conn)
    salesforce = order["by"]["salesforce"]
    await deliver_all(aconn, Result.RETRY, "UNABLE_TO_LOCK_ROW", destination="salesforce")
    conn.execute("UPDATE outbox.messages SET next_attempt_at = now() WHERE id = %s", (salesforce,))
    conn.commit()
    await deliver_all(aconn, Result.DEAD, "INVALID_FIELD", destination="salesforce")
    with conn.transaction():
        conn.execute("SELECT set_config('outbox.actor', 'ops:grace', true)")
        conn.execute("SELECT outbox.retry(%s, 'field restored')", (salesforce,))
    conn.commit()
    async with client(app_factory({}, "127.0.0.1")) as http:
        page = (await http.get(f"/messages/{salesforce}")).text
        missing = await http.get("/messages/999999")
    life = page.split('id="life"')[1].split("</table>")[0]
    assert life.count("<td>attempt</td>") == 2
    assert "UNABLE_TO_LOCK_ROW" in life
    assert "INVALID_FIELD" in life
    assert "<td>400</td>" in life
    assert "ops:grace" in life
    assert "field restored" in life
    payload = page.split('id="payload"')[1].split("</pre>")[0]
    assert "SO-1042" in payload
    assert "A***@example.org" in payload
    assert "Lovelace" not in page
    assert "Ada.Lovelace" not in page
    related = page.split('id="related"')[1].split("</table>")[0]
    assert f'/messages/{order["by"]["thinkific"]}"' in related
    assert missing.status_code == 404
    assert "no message 999999" in missing.text


async def test_console_message_page_shows_what_blocks_it_and_what_waits(
    conn: psycopg.Connection[Any], app_factory: AppFactory
) -> None:
    first, second, third = (publish_factory(conn, {"n": n}, key="order:SO-9") for n in range(3))
    async with client(app_factory({}, "127.0.0.1")) as http:
        page = (await http.get(f"/messages/{second}")).text
    related = page.split('id="related"')[1].split("</table>")[0]
    rows = {int(i): rest for i, rest in re.findall(r'/messages/(\d+)">\d+</a>(.*?)</tr>', related)}
    assert "ahead: blocks it" in rows[first]
    assert "behind: waits for it" in rows[third]


async def test_console_message_page_shows_the_request_the_mapping_makes_now(
    conn: psycopg.Connection[Any], pool: AsyncConnectionPool[Any]
) -> None:
    order = await place_sample_order(conn)
    broken = publish_factory(
        conn, {"order": {}}, destination="salesforce", event_type="order.placed"
    )
    mappings = load(resource_dir("mappings"))
    console = Console(pool, Access.from_environment({}, "127.0.0.1"), mapper=mappings.apply)
    metrics = Metrics()
    app = create_app(
        metrics, Sampler(pool, metrics, 1.0), console, mappings_ok=lambda: True, worker_id="w"
    )
    async with client(app) as http:
        good = (await http.get(f"/messages/{order['by']['salesforce']}")).text
        bad = (await http.get(f"/messages/{broken}")).text
    mapped = good.split('id="mapped">')[1].split("</pre>")[0]
    assert "Mapped now (mapping " in good
    assert "SO-1042" in mapped
    assert "&quot;object&quot;: &quot;Order&quot;" in mapped
    assert "Lovelace" not in mapped
    problem = bad.split('id="mapped">')[1].split("</p>")[0]
    assert problem == "Account.Storefront_Account_Id__c: the external ID has no value"
    assert "(from the catalog when sent)" in mapped


async def test_console_says_so_when_the_database_does_not_answer(tmp_path: Path) -> None:
    url = f"postgresql:///none?host={tmp_path}&connect_timeout=1"
    async with AsyncConnectionPool(url, min_size=0, max_size=1, open=False) as unreachable:
        console = Console(unreachable, Access.from_environment({}, "127.0.0.1"), db_timeout=0.5)
        metrics = Metrics()
        sampler = Sampler(unreachable, metrics, 1.0)
        app = create_app(metrics, sampler, console, mappings_ok=lambda: True, worker_id="w")
        async with client(app) as http:
            dead = await http.get("/dead")
            health = await http.get("/healthz")
    assert dead.status_code == 503
    assert "The database did not answer" in dead.text
    assert health.status_code == 200

"""A chaos run: the whole system under faults, then proof that nothing was lost or doubled.

Three real ``outbox run`` processes deliver while a storefront keeps placing orders; one of the
dispatchers is killed with SIGKILL and restarted every few seconds; both sandboxes answer a
share of calls with retryable errors and the odd timeout; Salesforce goes down completely for a
while; PostgreSQL itself is restarted. Afterwards every order must exist exactly once in
Salesforce, every course purchase must be enrolled once, each order's events must have arrived
in commit order, no message may be lost, and no checkout may have failed during the outage.

Used by the acceptance test (bounded) and ``bench/soak.py`` (as long as you like).

Every random choice (which dispatcher to kill, the orders, which calls the sandboxes fail) comes
from generators seeded by ``ChaosPlan.seed``, so a failed run is replayed with its seed; the
report names the seed next to every problem. What still varies between two runs of one seed is
the machine's timing: which request meets which fault, not how many faults there are.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import yaml

from dispatcher.cli.database import ensure_database, start_embedded
from outbox import migrate
from sandboxes import salesforce, thinkific
from sandboxes.demo import boxes as demo_boxes
from sandboxes.demo import run as demo_run
from sandboxes.demo.shop import (
    DemoShop,
    IncompleteCatalogError,
    add_sessions,
    catalog_gaps,
    load_catalog,
)


@dataclass(frozen=True, slots=True)
class ChaosPlan:
    seconds: float = 45.0
    outage_from: float = 5.0
    outage_seconds: float = 30.0
    postgres_restart_at: float | None = 38.0
    kill_every: float = 4.0
    dispatchers: int = 3
    orders_per_second: float = 8.0
    error_rate: float = 0.05
    settle_seconds: float = 90.0
    seed: int = 11
    catalog_pulls: int = 20  # pulls tried (through the faults) before orders start


@dataclass
class ChaosReport:
    seed: int
    orders: int = 0
    checkout_failures: list[str] = field(default_factory=list)
    kills: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    delivery_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems and not self.checkout_failures

    def describe(self) -> str:
        """What went wrong, with the seed that replays the run."""
        found = [*self.problems, *self.checkout_failures] or ["no problem found"]
        return (
            f"chaos run with seed {self.seed} (replay: OUTBOX_CHAOS_SEED={self.seed}): "
            f"{self.orders} orders, {self.kills} kills, statuses {self.statuses}; "
            + "; ".join(found)
        )


class Storefront(threading.Thread):
    """Places orders at a steady rate; pauses while PostgreSQL is being restarted.

    It never dies silently: anything that stops it is recorded in ``failures``, a finding of
    the run, rather than raised in a thread nobody joins.
    """

    CATALOG_WAIT_SECONDS = 10.0

    def __init__(self, url: str, rate: float, seed: int) -> None:
        super().__init__(daemon=True)
        self.url, self.rate = url, rate
        self.shop = DemoShop(random.Random(seed))
        self.stop = threading.Event()
        self.paused = threading.Event()
        self.failures: list[str] = []
        self.placed = 0

    def run(self) -> None:
        try:
            self._place_until_stopped()
        except IncompleteCatalogError as exc:
            self.failures.append(f"storefront stopped: {exc}")
        except Exception as exc:  # a finding of the run, reported with its seed
            self.failures.append(f"storefront crashed: {type(exc).__name__}: {exc}")

    def _place_until_stopped(self) -> None:
        n = 0
        while not self.stop.is_set():
            if self.paused.is_set():
                self.stop.wait(0.05)
                continue
            try:
                with psycopg.connect(self.url) as conn:
                    catalog = self._catalog(conn)
                    while not self.stop.is_set() and not self.paused.is_set():
                        n += 1
                        if self.shop.place(conn, self.shop.order(n, catalog)) == "placed":
                            self.placed += 1
                        self.stop.wait(1.0 / self.rate)
            except psycopg.OperationalError as exc:
                if not self.paused.is_set():
                    self.failures.append(f"order {n}: {exc}")
                self.stop.wait(0.1)

    def _catalog(self, conn: psycopg.Connection[Any]) -> dict[str, dict[str, Any]]:
        """The catalog once it sells every purchase type, waiting a bounded while for one."""
        deadline = time.monotonic() + self.CATALOG_WAIT_SECONDS
        while True:
            catalog = load_catalog(conn)
            gaps = catalog_gaps(catalog)
            if not gaps:
                return catalog
            if time.monotonic() > deadline or self.stop.wait(0.1):
                raise IncompleteCatalogError(gaps)


class Fleet:
    """The dispatcher processes, killed and restarted on demand."""

    # A process signalled while Python is still importing dies of the signal instead of
    # shutting down; give the newest one this long to reach its own handlers before stopping.
    STARTUP_SECONDS = 5.0

    def __init__(self, url: str, config: Path, logs: Path, count: int) -> None:
        self.url, self.config, self.logs = url, config, logs
        self.logs.mkdir(parents=True, exist_ok=True)
        self.started = 0
        self.serials: dict[int, int] = {}
        self.last_start = time.monotonic()
        self.procs = [self._start() for _ in range(count)]

    def _start(self) -> subprocess.Popen[bytes]:
        self.last_start = time.monotonic()
        env = {**os.environ, "OUTBOX_DATABASE_URL": self.url}
        command = [
            sys.executable,
            "-m",
            "dispatcher",
            "run",
            "--config",
            str(self.config),
            "--no-migrate",
        ]
        self.started += 1
        with self._log(self.started).open("ab") as sink:
            proc = subprocess.Popen(command, env=env, stdout=sink, stderr=sink)
        self.serials[proc.pid] = self.started
        return proc

    def _log(self, serial: int) -> Path:
        return self.logs / f"dispatcher-{serial:03d}.log"

    def last_words(self, proc: subprocess.Popen[bytes], lines: int = 6) -> str:
        """The end of one process's own log: why it exited as it did."""
        text = self._log(self.serials[proc.pid]).read_text(errors="replace")
        return " | ".join(text.strip().splitlines()[-lines:])

    def kill_one(self, rng: random.Random) -> None:
        index = rng.randrange(len(self.procs))
        self.procs[index].send_signal(signal.SIGKILL)
        self.procs[index].wait(timeout=10)
        self.procs[index] = self._start()

    def kill_all(self) -> None:
        """Leave no dispatcher behind when the run ends early."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)

    def stop(self) -> list[int]:
        time.sleep(max(0.0, self.last_start + self.STARTUP_SECONDS - time.monotonic()))
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        return [proc.wait(timeout=60) for proc in self.procs]


def run_chaos(workdir: Path, plan: ChaosPlan) -> ChaosReport:
    report = ChaosReport(seed=plan.seed)
    with ExitStack() as stack:
        root = workdir / "pg"
        server = start_embedded(root)
        stack.callback(lambda: server.cleanup())
        url = ensure_database(server.get_uri(), "chaos")
        migrate.upgrade(url)
        boxes = stack.enter_context(demo_boxes.sandboxes(chaos=False, seed=plan.seed))
        _arm_faults(boxes, plan)
        try:
            demo_run.pull_until_complete(url, boxes, plan.catalog_pulls)
        except IncompleteCatalogError as exc:
            report.problems.append(f"{exc} (after {plan.catalog_pulls} pulls)")
            return report
        with psycopg.connect(url) as conn:
            add_sessions(conn)
        config = _config(workdir, boxes)
        fleet = Fleet(url, config, workdir / "dispatchers", plan.dispatchers)
        stack.callback(fleet.kill_all)
        store = Storefront(url, plan.orders_per_second, plan.seed)
        store.start()
        server = _drive(plan, boxes, fleet, store, report, root, server)
        started = time.monotonic()
        _settle(url, store.shop.prefix, plan.settle_seconds)
        report.delivery_seconds = time.monotonic() - started
        exits = fleet.stop()
        if any(code != 0 for code in exits):
            report.problems.append(f"dispatchers exited with {exits}")
            for proc, code in zip(fleet.procs, exits, strict=True):
                if code != 0:
                    report.problems.append(f"exit {code}, its log ends: {fleet.last_words(proc)}")
        report.orders = store.placed
        report.checkout_failures = store.failures
        _verify(url, store.shop.prefix, boxes, report)
    return report


def _drive(
    plan: ChaosPlan,
    boxes: Any,
    fleet: Fleet,
    store: Storefront,
    report: ChaosReport,
    root: Path,
    server: Any,
) -> Any:
    rng = random.Random(plan.seed)
    begin = time.monotonic()
    next_kill = plan.kill_every
    restarted = plan.postgres_restart_at is None
    while (elapsed := time.monotonic() - begin) < plan.seconds:
        down = plan.outage_from <= elapsed < plan.outage_from + plan.outage_seconds
        boxes.salesforce.faults.outage = down
        if elapsed >= next_kill:
            fleet.kill_one(rng)
            report.kills += 1
            next_kill += plan.kill_every
        if not restarted and elapsed >= (plan.postgres_restart_at or 0):
            store.paused.set()
            server.cleanup()
            server = start_embedded(root)
            store.paused.clear()
            restarted = True
        time.sleep(0.1)
    boxes.salesforce.faults.outage = False
    store.stop.set()
    store.join(timeout=30)
    return server


def _arm_faults(boxes: Any, plan: ChaosPlan) -> None:
    sf, tk = boxes.salesforce.faults, boxes.thinkific.faults
    sf.inject(salesforce.FaultKind.SERVER_UNAVAILABLE, probability=plan.error_rate / 2)
    sf.inject(salesforce.FaultKind.UNABLE_TO_LOCK_ROW, probability=plan.error_rate / 2)
    sf.inject(salesforce.FaultKind.LATENCY, probability=0.01, latency_ms=2500)  # a timeout
    tk.inject(thinkific.FaultKind.SERVER_ERROR, probability=plan.error_rate / 2)
    tk.inject(thinkific.FaultKind.CLOUDFLARE, probability=plan.error_rate / 2)
    tk.inject(thinkific.FaultKind.LATENCY, probability=0.01, latency_ms=2500)


def _config(workdir: Path, boxes: Any) -> Path:
    config = demo_run.demo_config(boxes).model_dump(mode="json")
    config["dispatcher"].update(lease_seconds=5, reclaim_interval_seconds=1, http_port=None)
    for destination in config["destinations"].values():
        destination["timeout_seconds"] = 1.5
        destination["retry"] = {
            "max_attempts": 60,
            "backoff_base_seconds": 0.5,
            "backoff_cap_seconds": 5,
        }
        destination["breaker"] = {"failures": 20, "cooldown_seconds": 2}
    config["jobs"] = {"enabled": False}
    path = workdir / "chaos.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _settle(url: str, prefix: str, limit: float) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT count(*) FROM outbox.messages "
                "WHERE status IN ('pending', 'in_flight', 'retrying')"
            ).fetchone()
        if row and row[0] == 0:
            return
        time.sleep(0.5)


def _verify(url: str, prefix: str, boxes: Any, report: ChaosReport) -> None:
    with psycopg.connect(url) as conn:
        report.statuses = dict(
            conn.execute("SELECT status::text, count(*) FROM outbox.messages GROUP BY 1").fetchall()
        )
        orders = {n for (n,) in conn.execute("SELECT order_number FROM commerce.orders")}
        disorder = conn.execute(
            """
            SELECT count(*) FROM (
                SELECT id, delivered_at,
                       lag(delivered_at) OVER (
                           PARTITION BY destination, ordering_key ORDER BY id) AS prev
                  FROM outbox.messages WHERE ordering_key IS NOT NULL AND status = 'delivered') s
             WHERE delivered_at < prev
            """
        ).fetchone()
        bought = conn.execute(
            "SELECT count(DISTINCT (lower(payload->'customer'->>'email'), payload->>'course_id')) "
            "FROM outbox.messages WHERE event_type = 'enrollment.requested'"
        ).fetchone()
    live = sum(report.statuses.get(s, 0) for s in ("pending", "in_flight", "retrying"))
    if live or report.statuses.get("dead"):
        report.problems.append(f"messages not delivered: {report.statuses}")
    if disorder and disorder[0]:
        report.problems.append(
            f"{disorder[0]} message(s) delivered before an earlier one of their key"
        )
    written = boxes.salesforce.stats()["writes"].get("Order", {})
    missing = orders - written.keys()
    doubled = [n for n, c in written.items() if c["created"] != 1]
    if missing or doubled:
        report.problems.append(
            f"Salesforce: {len(missing)} order(s) missing, {len(doubled)} created twice"
        )
    enrolled = boxes.thinkific.enrollment_report()["items"]
    twice = [r for r in enrolled if r["created"] != 1]
    if bought is None or len(enrolled) != bought[0] or twice:
        report.problems.append(
            f"Thinkific: {len(enrolled)} enrolled of {bought[0] if bought else '?'} bought, "
            f"{len(twice)} created twice"
        )

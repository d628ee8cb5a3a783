"""Repeat one test many times and report how often it passed: for a test suspected of luck.

    python -m bench.repeat tests/acceptance/test_chaos.py --runs 20
    python -m bench.repeat tests/acceptance/test_chaos.py --runs 20 --vary-seed
    python -m bench.repeat "tests/integration/test_claim.py::test_x" --runs 50 --seed-env MY_SEED

Each run is a fresh ``python -m pytest`` process, so nothing carries over between runs. The
seed of a run goes to the test through an environment variable (``OUTBOX_CHAOS_SEED`` unless
``--seed-env`` names another); with ``--vary-seed`` every run gets the next seed, otherwise all
runs share one. Each run prints one line; a failed run also prints the test's last failure lines
and the seed that replays it, and keeps its whole output in the log folder. The closing line counts
passes and failures; the exit status is 1 when any run failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Run:
    number: int
    seed: int
    passed: bool
    seconds: float
    log: Path
    reason: str


def _reason(output: str) -> str:
    """The short summary's FAILED/ERROR lines and the first assertion line, or the tail."""
    lines = output.splitlines()
    summary = [line for line in lines if line.startswith(("FAILED ", "ERROR ")) and "::" in line]
    first_e = next((line for line in lines if line.startswith("E ")), None)
    picked = summary + ([first_e] if first_e else [])
    return "\n".join(picked or lines[-3:])


def run_once(target: str, number: int, seed: int, seed_env: str, logs: Path) -> Run:
    log = logs / f"run-{number:03d}-seed-{seed}.log"
    env = {**os.environ, seed_env: str(seed)}
    command = [sys.executable, "-m", "pytest", target, "-q", "-p", "no:cacheprovider", "-rfE"]
    started = time.monotonic()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    output = done.stdout + done.stderr
    log.write_text(output)
    return Run(number, seed, done.returncode == 0, seconds, log, _reason(output))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("target", help="a pytest node id or file")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=11, help="the (first) seed")
    parser.add_argument("--vary-seed", action="store_true", help="seed, seed+1, ... per run")
    parser.add_argument("--seed-env", default="OUTBOX_CHAOS_SEED")
    parser.add_argument("--logs", type=Path, help="where each run's output is kept")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    logs = args.logs or Path(tempfile.mkdtemp(prefix="outbox-repeat-"))
    logs.mkdir(parents=True, exist_ok=True)
    print(f"repeating {args.target} {args.runs} times; logs in {logs}", flush=True)
    runs: list[Run] = []
    for number in range(1, args.runs + 1):
        seed = args.seed + (number - 1 if args.vary_seed else 0)
        run = run_once(args.target, number, seed, args.seed_env, logs)
        runs.append(run)
        verdict = "passed" if run.passed else "FAILED"
        print(f"run {number:3d}  seed {seed:6d}  {verdict}  {run.seconds:7.1f} s", flush=True)
        if not run.passed:
            print(f"    replay: {args.seed_env}={seed} python -m pytest {args.target}")
            print("    " + run.reason.replace("\n", "\n    "), flush=True)
    failed = [run for run in runs if not run.passed]
    print(f"repeat: {len(runs) - len(failed)} passed, {len(failed)} failed")
    if failed:
        print("seeds of the failed runs: " + ", ".join(str(run.seed) for run in failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

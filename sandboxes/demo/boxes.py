"""The demo's two sandboxes, served on loopback ports for as long as a run needs them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from sandboxes import salesforce as salesforce_sandbox
from sandboxes import thinkific as thinkific_sandbox
from sandboxes.serve import running_app

THINKIFIC_DEMO_RATE = 1200


@dataclass(frozen=True, slots=True)
class Sandboxes:
    salesforce_url: str
    salesforce: Any  # the sandbox's state, for the final checks
    thinkific_url: str
    thinkific: Any


@contextlib.contextmanager
def sandboxes(*, chaos: bool, seed: int | None = None) -> Iterator[Sandboxes]:
    """Both sandboxes on loopback ports; ``seed`` makes their injected faults repeatable."""
    sf_app = salesforce_sandbox.create_app(salesforce_sandbox.SandboxSettings(random_seed=seed))
    tk_app = thinkific_sandbox.create_app(
        thinkific_sandbox.SandboxSettings(
            rate_limit_per_minute=THINKIFIC_DEMO_RATE,
            random_seed=None if seed is None else seed + 1,
        )
    )
    with ExitStack() as stack:
        sf_url = stack.enter_context(running_app(sf_app))
        tk_url = stack.enter_context(running_app(tk_app))
        boxes = Sandboxes(sf_url, sf_app.state.sandbox, tk_url, tk_app.state.sandbox)
        if chaos:
            inject_chaos(boxes)
        yield boxes


def inject_chaos(boxes: Sandboxes) -> None:
    """Retryable trouble on both sides: the dispatcher must deliver everything anyway."""
    boxes.salesforce.faults.inject(
        salesforce_sandbox.FaultKind.SERVER_UNAVAILABLE, probability=0.05
    )
    boxes.salesforce.faults.inject(
        salesforce_sandbox.FaultKind.UNABLE_TO_LOCK_ROW, probability=0.05
    )
    boxes.salesforce.faults.inject(salesforce_sandbox.FaultKind.LATENCY, latency_ms=50)
    boxes.thinkific.faults.inject(thinkific_sandbox.FaultKind.SERVER_ERROR, probability=0.05)
    boxes.thinkific.faults.inject(thinkific_sandbox.FaultKind.CLOUDFLARE, probability=0.03)

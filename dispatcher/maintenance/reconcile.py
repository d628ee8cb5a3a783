"""Reconciliation: orders that never reached Salesforce, courses never enrolled, dead letters.

Reads ``outbox.reconciliation`` and ``outbox.dead_letter_causes`` and logs lines an alert can
match ("reconciliation found orders missing", "dead letters"), so a silent failure is seen
within minutes rather than found at month end.
"""

from __future__ import annotations

from collections import Counter

from dispatcher.maintenance.scheduler import JobContext
from outbox.queries import query


async def run(context: JobContext) -> str:
    async with context.pool.connection() as conn:
        gaps = await (await conn.execute(query("reconciliation"))).fetchall()
        causes = await (await conn.execute(query("dead_letter_causes"))).fetchall()
    problems = Counter(problem for problem, *_ in gaps)
    for problem, count in sorted(problems.items()):
        examples = [order for p, order, *_ in gaps if p == problem][:10]
        context.log.warning(
            "reconciliation found orders missing", problem=problem, orders=count, examples=examples
        )
    for destination, code, count in causes:
        context.log.warning(
            "dead letters", destination=destination, error_code=code, messages=count
        )
    summary = ", ".join(f"{n} {p}" for p, n in sorted(problems.items())) or "all orders reconciled"
    return f"{summary}; {sum(c for *_, c in causes)} dead letter(s)"

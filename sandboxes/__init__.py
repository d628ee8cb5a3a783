"""Local stand-ins for the outside world: a Salesforce org and a Thinkific site that answer like
the real APIs (``sandboxes.salesforce``, ``sandboxes.thinkific``, served by ``sandboxes.serve``),
and the demo shop and chaos harness that drive the whole system against them
(``sandboxes.demo``). Shipped in the same distribution so ``outbox demo`` and ``outbox sandbox``
work after one install, but outside ``dispatcher``: only those two commands import it."""

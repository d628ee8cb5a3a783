"""The dispatcher daemon and the ``outbox`` command, in layers: ``cli`` on top, then ``daemon``
(the composition root), ``ops`` and ``maintenance``, ``destinations``, ``mapping`` and the
delivery ``core``, over the ``outbox`` package; ``config`` is the one configuration model.
import-linter holds the order (pyproject.toml)."""

"""The pool's session settings follow the configured commit durability."""

from __future__ import annotations

from dispatcher.config import Config, DispatcherConfig
from dispatcher.daemon import _session


def test_session_is_durable_by_default_and_async_when_asked() -> None:
    assert _session(Config()) == {"autocommit": True}
    fast = Config(dispatcher=DispatcherConfig(synchronous_commit=False))
    assert _session(fast) == {"autocommit": True, "options": "-c synchronous_commit=off"}

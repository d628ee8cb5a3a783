"""Structured logs: JSON lines when not on a terminal (for shipping), readable on one.

One pipeline for every line the process writes: structlog's own loggers and the standard
library's (psycopg_pool, uvicorn, httpx, the mapping reloader) share the processors, the
masking and the renderer, so no library line escapes as plain text or unmasked.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog

from dispatcher.core.redact import mask

# Libraries that log every request at INFO: their warnings and errors still come through.
_CHATTY = ("httpx", "httpcore", "uvicorn.access")
# Loggers uvicorn's default configuration gives handlers of their own, off the root.
_OWN_HANDLERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def configure(level: int = logging.INFO, file: TextIO | None = None) -> None:
    """Configure logging once per process; ``file`` sends the lines elsewhere than stderr."""
    sink = file or sys.stderr
    shared: list[structlog.typing.Processor] = [
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer()
        if file is None and sys.stderr.isatty()
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            *shared,
            structlog.processors.format_exc_info,
            mask_values,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sink),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sink)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                mask_values,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in _OWN_HANDLERS:  # set up by a uvicorn started earlier in this process
        library = logging.getLogger(name)
        for old in list(library.handlers):
            library.removeHandler(old)
        library.propagate = True
        library.setLevel(logging.NOTSET)
    for name in _CHATTY:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))


def mask_values(
    logger: object, method: str, event: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    """No secret, credential, e-mail address or personal field value reaches a log line,
    whichever module logged it and whatever an error message or traceback echoed."""
    for key, value in event.items():
        event[key] = _masked(value, 0)
    return event


def _masked(value: Any, depth: int) -> Any:
    if isinstance(value, str):
        return mask(value)
    if depth >= 3:
        return value
    if isinstance(value, list | tuple):
        return [_masked(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {k: _masked(v, depth + 1) for k, v in value.items()}
    return value

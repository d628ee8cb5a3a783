"""Structured logs: JSON lines when not on a terminal (for shipping), readable on one."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog

from dispatcher.redact import mask


def configure(level: int = logging.INFO, file: TextIO | None = None) -> None:
    """Configure structlog once per process; ``file`` sends the lines elsewhere than stderr."""
    processors: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        mask_values,
    ]
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer()
        if file is None and sys.stderr.isatty()
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=file or sys.stderr),
        cache_logger_on_first_use=True,
    )


def mask_values(
    logger: object, method: str, event: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    """No credential, e-mail address or personal field value reaches a log line, whichever
    module logged it and whatever an error message or traceback echoed."""
    for key, value in event.items():
        if type(value) is str:
            event[key] = mask(value)
    return event

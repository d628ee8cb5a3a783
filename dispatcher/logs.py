"""Structured logs: JSON lines when not on a terminal (for shipping), readable on one."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog


def configure(level: int = logging.INFO, file: TextIO | None = None) -> None:
    """Configure structlog once per process; ``file`` sends the lines elsewhere than stderr."""
    processors: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
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

"""Structured logs: structlog for every process, one line per event.

``logging_config`` builds the LOGGING dict of settings.py. Every log line, whether
written through structlog (``structlog.get_logger``) or the standard library
(``logging.getLogger``, Django, django-q2, libraries), goes through one handler on
stderr and one formatter:

- ``json`` (production default): one JSON object per line with ``event``, ``level``,
  ``logger``, ``timestamp`` (ISO 8601, UTC), ``pid``, the context bound to the line
  (``request_id``, ``user_id`` and ``ip`` during a request; ``backtest_id`` or
  ``sweep_id``, ``spec``, ``spec_version``, ``user_id``, ``request_id`` during a job)
  and the event's own fields; ``exception`` holds a traceback.
- ``console`` (default with DEBUG): the same fields, readable, coloured on a terminal.

The level is LOG_LEVEL (INFO; ``manage.py`` makes it WARNING for commands other
than the servers, so a command's output is its own). docs/operations.md shows lines.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import uuid
from typing import Any

import structlog

# The request id a client or nginx sends is kept when it looks like an id; anything
# else (too long, odd characters: log injection) gets a fresh one.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def _add_pid(_logger, _method, event_dict: dict[str, Any]) -> dict[str, Any]:
    event_dict.setdefault("pid", os.getpid())
    return event_dict


def shared_processors() -> list:
    """Processors for structlog's and the standard library's records alike."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_pid,
    ]


class QuietProbes(logging.Filter):
    """Drops the INFO request lines of ``/metrics`` and ``/health``: Prometheus and load
    balancers ask every few seconds, and their lines would drown the others."""

    PROBES = frozenset({"GET /metrics", "GET /health"})

    def filter(self, record: logging.LogRecord) -> bool:
        event = record.msg
        return not (
            record.levelno <= logging.INFO and isinstance(event, dict) and event.get("request") in self.PROBES
        )


def renderer(fmt: str):
    if fmt == "json":
        return structlog.processors.JSONRenderer(sort_keys=False)
    return structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())


def configure_structlog() -> None:
    """structlog's loggers hand their events to the standard library's handlers (so both
    kinds of line share the formatter of ``logging_config``). Called by settings.py,
    so it holds in every process that loads the settings."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def logging_config(*, level: str, fmt: str) -> dict:
    """The LOGGING dict: one stderr handler at ``level``, rendering ``fmt`` (json | console)."""
    if fmt not in {"json", "console"}:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"LOG_FORMAT={fmt!r} is not json or console")
    exceptions = [structlog.processors.format_exc_info] if fmt == "json" else []
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"quiet_probes": {"()": QuietProbes}},
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    *exceptions,
                    renderer(fmt),
                ],
                "foreign_pre_chain": [*shared_processors(), structlog.stdlib.ExtraAdder()],
            }
        },
        # The handler's level too: a logger set lower (below) never leaks past LOG_LEVEL.
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "structured", "level": level}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "INFO"},
            # WeasyPrint logs every layout step at INFO.
            "weasyprint": {"level": "WARNING"},
            "fontTools": {"level": "WARNING"},
            # django-structlog's request_started/request_finished are the access log.
            "django.server": {"level": "WARNING"},
            "django_structlog.middlewares.request": {"filters": ["quiet_probes"]},
        },
    }


def request_id_clean(value: str | None) -> str:
    """``value`` when it is a plausible request id, else a new uuid4."""
    if value and _REQUEST_ID.fullmatch(value):
        return value
    return str(uuid.uuid4())


def connect_request_signals() -> None:
    """django-structlog's request hooks: keep an upstream X-Request-ID only when it looks
    like an id, and send the request id back in the response's X-Request-ID."""
    from django_structlog import signals

    def bind_request_id(request, **_kwargs) -> None:
        bound = structlog.contextvars.get_contextvars().get("request_id")
        clean = request_id_clean(bound)
        if clean != bound:
            structlog.contextvars.bind_contextvars(request_id=clean)

    def answer_request_id(response, **_kwargs) -> None:
        request_id = structlog.contextvars.get_contextvars().get("request_id")
        if request_id and not response.has_header("X-Request-ID"):
            response["X-Request-ID"] = request_id

    signals.bind_extra_request_metadata.connect(bind_request_id, weak=False, dispatch_uid="bt-request-id")
    signals.bind_extra_request_finished_metadata.connect(
        answer_request_id, weak=False, dispatch_uid="bt-request-id-answer"
    )

"""Wait until PostgreSQL and the task broker answer, saying what is awaited."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import connections

RETRY_SECONDS = 2.0
SAY_EVERY_SECONDS = 10.0


def services_down() -> list[str]:
    """What does not answer yet, as ``"<service>: <error>"`` lines (empty when all do)."""
    down = []
    try:
        connections["default"].ensure_connection()
    except Exception as exc:
        down.append(f"database: {type(exc).__name__}: {exc}".strip())
        connections["default"].close()
    try:
        from django_q.brokers import get_broker

        if not get_broker().ping():
            down.append("broker: no answer to PING")
    except Exception as exc:
        down.append(f"broker: {type(exc).__name__}: {exc}".strip())
    return down


def wait_for_services(say: Callable[[str], object], *, timeout: float | None = None) -> None:
    """Return once the database and the broker answer; ``say`` what is awaited (at once,
    then every 10 s). ``timeout`` None waits for good; else ``TimeoutError``."""
    started = time.monotonic()
    last_said = -SAY_EVERY_SECONDS
    while down := services_down():
        now = time.monotonic()
        if now - last_said >= SAY_EVERY_SECONDS:
            say(f"waiting for {'; '.join(down)} (retrying every {RETRY_SECONDS:g} s)")
            last_said = now
        if timeout is not None and now - started > timeout:
            raise TimeoutError("; ".join(down))
        time.sleep(RETRY_SECONDS)

"""The ``--wait`` loop of the CLI commands: poll a job until it ends, showing progress."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from django.core.management.base import CommandError, OutputWrapper

from jobs.models import Job

POLL_SECONDS = 0.25


def follow(
    fetch: Callable[[], Job],
    *,
    what: str,
    timeout: float,
    out: OutputWrapper,
    show: bool,
    describe: Callable[[Job], str] = lambda job: job.status,
) -> Job:
    """Poll ``fetch()`` until the job is final and return it. With ``show``, a line per
    change of ``describe(job)`` (rewritten in place on a terminal). ``CommandError``
    after ``timeout`` seconds; the job keeps going."""
    started = time.monotonic()
    last = None
    tty = show and sys.stdout.isatty()
    while True:
        job = fetch()
        text = describe(job)
        if show and text != last:
            line = f"  {time.monotonic() - started:6.1f}s  {text}"
            if tty:
                out.write("\r" + line, ending="")
            else:
                out.write(line)
            last = text
        if job.is_final:
            if tty:
                out.write("")
            return job
        if time.monotonic() - started > timeout:
            if tty:
                out.write("")
            raise CommandError(f"{what} still {job.status} after {timeout:.0f} s (it keeps going)")
        time.sleep(POLL_SECONDS)


def run_inline() -> None:
    """Run queued tasks in this process from now on (django-q2's sync mode): a command
    does the work itself instead of waiting for a worker."""
    from django_q.conf import Conf

    Conf.SYNC = True


def no_worker_message(what: str, *, inline_flag: str = "--inline") -> str | None:
    """None when a worker is up (or tasks run in-process); else what to tell the user."""
    from django_q.conf import Conf

    from jobs.workers import queue_status

    if Conf.SYNC:
        return None
    status = queue_status()
    if status["ok"]:
        return None
    return (
        f"{what} is queued, but no worker is running ({status.get('error', 'queue down')}). "
        f"Start one with `.venv/bin/python manage.py qcluster` (or `make run`) and it is picked up; "
        f"or run it in this process with {inline_flag}."
    )

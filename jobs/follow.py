"""The ``--wait`` loop of the CLI commands: poll a job until it ends, showing progress.

A command that queues a job (``backtest NAME``, ``sweep NAME``) takes the same
``--wait``, ``--inline``, ``--user`` and ``--timeout`` options (``add_queue_arguments``),
queues and follows the same way (``queue_and_follow``) and ends the same way
(``raise_unless_succeeded``); what it prints of the finished job is its own.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, OutputWrapper
from django.db import transaction

from jobs.models import Job, JobStatus

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


def add_queue_arguments(parser, *, what: str, it: str, then: str) -> None:
    """--wait, --inline, --user and --timeout of a command that queues a ``what``;
    ``then`` says what --wait prints at the end."""
    parser.add_argument("--wait", action="store_true", help=f"follow the {what} to the end and {then}")
    parser.add_argument(
        "--inline",
        action="store_true",
        help=f"run {it} in this process (no worker needed) and {then}, like --wait",
    )
    parser.add_argument(
        "--user", help=f"owner of the spec and the {what} (default: SPEC_OWNER or the only superuser)"
    )
    parser.add_argument("--timeout", type=float, default=3600, help="--wait gives up after this many seconds")


def queue_and_follow(
    command: BaseCommand,
    opts: dict[str, Any],
    *,
    enqueue: Callable[[], tuple[Any, Job]],
    errors: type[Exception],
    as_json: bool,
    queued_details: Callable[[Any], str] = lambda job: "",
    describe: Callable[[Any], str] = lambda job: job.status,
) -> Any | None:
    """Queue a job with ``enqueue()`` (its spec and the job, in one transaction;
    ``errors`` become the command's error) and say so. Without --wait that is all
    (None; with --json its id and status). With --wait (or --inline, which runs the
    tasks in this process), at once an error when no worker is running, else follow it
    to the end (``describe``, see ``follow``) and return it."""
    if opts["inline"]:
        run_inline()
        opts["wait"] = True
    try:
        with transaction.atomic():
            spec, job = enqueue()
    except errors as exc:
        raise CommandError(str(exc)) from None
    what = f"{job.JOB_KIND} {job.pk}"
    if not as_json:
        command.stdout.write(f"queued {what} of {spec.name} v{spec.version}{queued_details(job)}")
    if not opts["wait"]:
        if as_json:
            command.stdout.write(json.dumps({"id": job.pk, "status": job.status}))
        return None
    if message := no_worker_message(what):
        raise CommandError(message)
    model, pk = type(job), job.pk
    return follow(
        lambda: model.objects.get(pk=pk),
        what=what,
        timeout=opts["timeout"],
        out=command.stdout,
        show=not as_json,
        describe=describe,
    )


def raise_unless_succeeded(job: Job) -> None:
    """The command's error (its exit status) when the job did not succeed."""
    if job.status != JobStatus.SUCCEEDED:
        raise CommandError(f"{job.JOB_KIND} {job.pk} {job.status}" + (f": {job.error}" if job.error else ""))

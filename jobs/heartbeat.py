"""A running job's heartbeat: proof of life the housekeeper reads.

A worker process that is killed (``kill -9``, out of memory, a machine that restarts)
stops beating; the housekeeper then requeues its job within seconds, not at a timeout
of the whole task. The beat runs in a thread, so it goes on while the job computes;
numba kernels hold the GIL for at most a chunk of work, far less than the stale limit.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connections

from jobs.models import Delivery

log = logging.getLogger(__name__)


def worker_name() -> str:
    """``host:pid`` of this process: each django-q2 worker process has its own."""
    return f"{socket.gethostname()}:{os.getpid()}"


@contextmanager
def heartbeat(model: type[Delivery], pk: int, *, worker: str, attempt: int) -> Iterator[None]:
    """Beat for the claim (``worker``, ``attempt``) of row ``pk`` every
    JOB_HEARTBEAT_SECONDS while the block runs (the claim itself was the first beat)."""
    every = float(settings.JOB_HEARTBEAT_SECONDS)
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(every):
                if not model.beat(pk, worker=worker, attempt=attempt):
                    return  # cancelled, finished or taken over: nothing left to prove
        except Exception:
            log.exception("heartbeat of %s %s stopped", model.__name__, pk)
        finally:
            connections.close_all()  # this thread's own connections

    thread = threading.Thread(target=beat, name=f"heartbeat-{model.__name__}-{pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()

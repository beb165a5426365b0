"""What every log line of a job carries: its id, spec name and version, user, request id.

A job created while an API request is served records that request's id
(``current_request_id``, the ``request_id`` django-structlog binds); the task that
runs the job binds it again with ``job_log_context``, so the request's lines and the
worker's lines of the same job can be found with one id.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import structlog
from django.db.models import QuerySet

REQUEST_ID_MAX_CHARS = 64


def current_request_id() -> str:
    """The id of the request being served ("" outside a request): a job's ``request_id`` default."""
    return str(structlog.contextvars.get_contextvars().get("request_id") or "")[:REQUEST_ID_MAX_CHARS]


# The values() a job's log context is read from, and the fields it becomes.
CONTEXT_VALUES = ("spec__name", "spec__version", "owner_id", "request_id")


def context_fields(row: dict) -> dict:
    """``spec``, ``spec_version``, ``user_id`` and ``request_id`` (when there is one) of a
    job, from its ``values(*CONTEXT_VALUES)`` row."""
    fields = {"spec": row["spec__name"], "spec_version": row["spec__version"], "user_id": row["owner_id"]}
    if row["request_id"]:
        fields["request_id"] = row["request_id"]
    return fields


@contextmanager
def job_log_context(jobs: QuerySet, *, id_key: str, **extra) -> Iterator[None]:
    """Bind ``{id_key: pk, spec, spec_version, user_id, request_id, **extra}`` of the one
    job of ``jobs`` (a queryset of a ``Job`` model with ``spec`` and ``owner``) to every
    log line written inside the block; only ``extra`` when the job is gone."""
    row = jobs.values("pk", *CONTEXT_VALUES).first()
    fields = dict(extra)
    if row is not None:
        fields.update({id_key: row["pk"], **context_fields(row)})
    with structlog.contextvars.bound_contextvars(**fields):
        yield

"""What the APIs of runs and sweeps share: the list, detail and cancel of a job kind,
the 202 answer of a job queued, and absolute links.

A job kind's viewset sets ``model``, its serializers, ``list_filters`` (exact
filters of its list), ``visible`` (the rows a user may see) and ``enqueue`` (what a
create queues), and declares its own actions; its OpenAPI parameters and bodies by
``extend_schema_view``. ``query()`` is ``inputs.query.QueryParamsMixin``'s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from inputs.query import QueryParamsMixin
from jobs.errors import JobError
from jobs.models import Job


def absolute_url(request, path: str) -> str:
    """``path`` on the requesting host (as it is when serialised without a request)."""
    return request.build_absolute_uri(path) if request else path


def absolute_links(request, links: dict[str, str]) -> dict[str, str]:
    """A job's ``links`` (name → path), each by ``absolute_url``."""
    return {name: absolute_url(request, path) for name, path in links.items()}


class SpecRefSerializer(serializers.Serializer):
    """The exact spec version a job runs (a run's Backtest; a sweep's Sweep and its base Backtest)."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    version = serializers.IntegerField()


class JobViewSet(QueryParamsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    # No class docstring: drf-spectacular would show it as every job API's description.
    model: type[Job]
    detail_serializer_class: type[serializers.Serializer]
    create_serializer_class: type[serializers.Serializer]
    list_filters: tuple[str, ...] = ("status",)
    enqueue_errors: type[JobError] = JobError

    def visible(self, user) -> Any:
        """The jobs ``user`` may see (a 404 for the others). Each job kind's viewset defines it."""
        raise NotImplementedError(f"{type(self).__name__} must define visible()")

    def enqueue(self, user, body: dict[str, Any]) -> Job:
        """Queue the job a create's validated ``body`` asks for (``enqueue_errors``: a 400).
        Each job kind's viewset defines it."""
        raise NotImplementedError(f"{type(self).__name__} must define enqueue()")

    def ordered(self, jobs, ordering: str):
        """The list in the ``?ordering=`` asked for, newest first among equals."""
        return jobs.order_by(ordering, "-id")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reading the types
            return self.model.objects.none()  # type: ignore[attr-defined]
        jobs = self.visible(self.request.user)
        if self.action != "list":
            return jobs
        query = self.query()
        for name in self.list_filters:
            if query.get(name):
                jobs = jobs.filter(**{name: query[name]})
        if query.get("spec"):
            jobs = jobs.filter(spec__name=query["spec"])
        if query.get("ordering"):
            jobs = self.ordered(jobs, query["ordering"])
        return jobs

    def get_serializer_class(self):
        if self.action == "retrieve":
            return self.detail_serializer_class
        if self.action == "create":
            return self.create_serializer_class
        return self.serializer_class

    def create(self, request):
        body = self.create_serializer_class(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            job = self.enqueue(request.user, body.validated_data)
        except self.enqueue_errors as exc:
            raise ValidationError(exc.as_dict()) from exc
        return self.accepted(request, job)

    def accepted(self, request, job: Job) -> Response:
        """202 with the queued job's detail, its URL in ``Location``."""
        data = self.detail_serializer_class(job, context={"request": request}).data
        return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["url"]})

    def cancel_job(self, request, cancel: Callable[..., bool]) -> Response:
        """``cancel(run=job)`` of this job: the job as it is then, or 409 when it had ended."""
        job = self.get_object()
        if not cancel(run=job):
            job.refresh_from_db()
            return Response(
                {"detail": f"{job.JOB_KIND} {job.pk} is already {job.status} and cannot be cancelled"},
                status=status.HTTP_409_CONFLICT,
            )
        job.refresh_from_db()
        return Response(self.serializer_class(job, context={"request": request}).data)

"""The sweeps API: create (202), list, detail with progress, trials, cancel, resume, promote."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from jobs.models import JobStatus
from optimizers import services
from optimizers.api.serializers import (
    PromoteSerializer,
    PromotionSerializer,
    SweepCreateSerializer,
    SweepDetailSerializer,
    SweepSerializer,
    TrialSerializer,
)
from optimizers.models import OptimizationRun, SweepMethod, Trial
from optimizers.selectors import TRIAL_ORDER_FIELDS, sweeps_visible_to, trials_ordered

ORDERABLE = ("id", "queued_at", "started_at", "finished_at", "status", "best_objective", "evaluated")


class SweepViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Sweeps of the requesting user (staff: everyone's); another user's is a 404."""

    serializer_class = SweepSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular builds the schema
            return OptimizationRun.objects.none()
        runs = sweeps_visible_to(self.request.user)
        if self.action != "list":
            return runs
        params = self.request.query_params
        if params.get("status"):
            if params["status"] not in JobStatus.values:
                raise ValidationError({"status": [f"one of {', '.join(JobStatus.values)}"]})
            runs = runs.filter(status=params["status"])
        if params.get("method"):
            if params["method"] not in SweepMethod.values:
                raise ValidationError({"method": [f"one of {', '.join(SweepMethod.values)}"]})
            runs = runs.filter(method=params["method"])
        if params.get("spec"):
            runs = runs.filter(spec__name=params["spec"])
        ordering = params.get("ordering")
        if ordering:
            if ordering.removeprefix("-") not in ORDERABLE:
                raise ValidationError(
                    {"ordering": [f"cannot order by {ordering!r}; use one of {', '.join(ORDERABLE)}"]}
                )
            runs = runs.order_by(ordering, "-id")
        return runs

    def get_serializer_class(self):
        if self.action == "retrieve":
            return SweepDetailSerializer
        if self.action == "create":
            return SweepCreateSerializer
        return SweepSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("status", enum=JobStatus.values),
            OpenApiParameter("method", enum=SweepMethod.values),
            OpenApiParameter("spec", description="a Sweep spec name"),
            OpenApiParameter("ordering", description=f"one of {', '.join(ORDERABLE)}; '-' for descending"),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=SweepCreateSerializer, responses={202: SweepDetailSerializer})
    def create(self, request):
        body = SweepCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            spec = services.sweep_spec_for(request.user, body.validated_data["spec"])
            run = services.sweep_create(spec=spec, owner=request.user)
        except services.SweepError as exc:
            raise ValidationError(exc.as_dict()) from exc
        run = sweeps_visible_to(request.user).get(pk=run.pk)
        data = SweepDetailSerializer(run, context={"request": request}).data
        return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["url"]})

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "ordering", description=f"one of {', '.join(TRIAL_ORDER_FIELDS)}; '-' for descending"
            ),
            OpenApiParameter("page", int),
        ],
        responses={200: TrialSerializer(many=True)},
    )
    @action(detail=True, methods=["get"])
    def trials(self, request, pk=None):
        run = self.get_object()
        try:
            trials = trials_ordered(run, request.query_params.get("ordering"))
        except ValueError as exc:
            raise ValidationError({"ordering": [str(exc)]}) from None
        page = self.paginate_queryset(trials)
        return self.get_paginated_response(TrialSerializer(page, many=True).data)

    @extend_schema(request=None, responses={200: SweepSerializer, 409: None})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        run = self.get_object()
        if not services.sweep_cancel(run=run):
            run.refresh_from_db()
            return Response(
                {"detail": f"sweep {run.pk} is already {run.status} and cannot be cancelled"},
                status=status.HTTP_409_CONFLICT,
            )
        run.refresh_from_db()
        return Response(SweepSerializer(run, context={"request": request}).data)

    @extend_schema(request=None, responses={202: SweepSerializer, 409: None})
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        run = self.get_object()
        try:
            with transaction.atomic():
                released = services.sweep_resume(run=run)
        except services.SweepError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        run.refresh_from_db()
        data = SweepSerializer(run, context={"request": request}).data
        return Response({**data, "released_chunks": released}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=PromoteSerializer, responses={202: PromotionSerializer})
    @action(detail=True, methods=["post"])
    def promote(self, request, pk=None):
        run = self.get_object()
        body = PromoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        trial = None
        if "trial" in body.validated_data:
            trial = Trial.objects.filter(pk=body.validated_data["trial"], run=run).first()
            if trial is None:
                raise ValidationError(
                    {"trial": [f"sweep {run.pk} has no trial {body.validated_data['trial']}"]}
                )
        try:
            promotion = services.sweep_promote(run=run, trial=trial)
        except services.SweepError as exc:
            raise ValidationError(exc.as_dict()) from exc
        data = PromotionSerializer(promotion, context={"request": request}).data
        return Response(data, status=status.HTTP_202_ACCEPTED)

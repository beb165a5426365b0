"""The sweeps API: create (202), list, detail with progress, trials, cancel, resume, promote."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from inputs.query import choice_filter, ordering_filter, text_filter
from jobs.api import JobViewSet
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


class SweepListQuery(serializers.Serializer):
    status = choice_filter(JobStatus.values)
    method = choice_filter(SweepMethod.values)
    spec = text_filter("A Sweep spec's name.", max_length=100)
    ordering = ordering_filter(ORDERABLE)


class TrialListQuery(serializers.Serializer):
    ordering = ordering_filter(TRIAL_ORDER_FIELDS, what="trials")


@extend_schema_view(
    list=extend_schema(parameters=[SweepListQuery]),
    create=extend_schema(request=SweepCreateSerializer, responses={202: SweepDetailSerializer}),
)
class SweepViewSet(JobViewSet):
    """Sweeps of the requesting user (staff: everyone's); another user's is a 404."""

    model = OptimizationRun
    serializer_class = SweepSerializer
    detail_serializer_class = SweepDetailSerializer
    create_serializer_class = SweepCreateSerializer
    list_filters = ("status", "method")
    enqueue_errors = services.SweepError
    query_serializers = {"list": SweepListQuery, "trials": TrialListQuery}

    def visible(self, user):
        return sweeps_visible_to(user)

    def enqueue(self, user, body):
        run = services.sweep_create(spec=services.sweep_spec_for(user, body["spec"]), owner=user)
        return sweeps_visible_to(user).get(pk=run.pk)

    @extend_schema(parameters=[TrialListQuery], responses={200: TrialSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def trials(self, request, pk=None):
        ordering = self.query().get("ordering")
        run = self.get_object()
        trials = trials_ordered(run, ordering)
        page = self.paginate_queryset(trials)
        return self.get_paginated_response(TrialSerializer(page, many=True).data)

    @extend_schema(request=None, responses={200: SweepSerializer, 409: None})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self.cancel_job(request, services.sweep_cancel)

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

"""The specs API: apply files (POST), list, detail and versions; the served schemas."""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from inputs.query import QueryParamsMixin, text_filter
from specs.api.parsers import (
    DEFAULT_SOURCE,
    BoundedJSONParser,
    TextYAMLParser,
    YAMLAliasParser,
    YAMLSpecParser,
    request_filename,
)
from specs.api.serializers import (
    ApplyResultSerializer,
    SpecApplyRequestSerializer,
    SpecDetailSerializer,
    SpecErrorsSerializer,
    SpecSerializer,
)
from specs.errors import SpecError
from specs.json_schemas import KIND_SLUGS, combined_schema, served_schema
from specs.models import Spec, SpecKind
from specs.parsing import ParsedFile, parse_text
from specs.services import SpecValidationError, spec_apply_data, spec_apply_parsed


class SpecListQuery(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=SpecKind.values,
        required=False,
        allow_blank=True,
        error_messages={"invalid_choice": f"unknown kind {{input!r}}; one of {', '.join(SpecKind.values)}"},
    )
    name = text_filter("A spec name.", max_length=100)
    latest = serializers.BooleanField(required=False, help_text="Only the newest version of each spec.")


class SpecApplyQuery(serializers.Serializer):
    dry_run = serializers.BooleanField(required=False, help_text="Validate only; store nothing.")


class SpecViewSet(
    QueryParamsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Specs of the requesting user (staff: everyone's). Stored rows never change."""

    serializer_class = SpecSerializer
    parser_classes = [YAMLSpecParser, YAMLAliasParser, TextYAMLParser, BoundedJSONParser]
    query_serializers = {"list": SpecListQuery, "create": SpecApplyQuery}

    def get_queryset(self) -> QuerySet[Spec]:
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reading the types
            return Spec.objects.none()
        specs = Spec.objects.visible_to(self.request.user).select_related("owner")
        if self.action != "list":
            return specs
        query = self.query()
        if query.get("kind"):
            specs = specs.filter(kind=query["kind"])
        if query.get("name"):
            specs = specs.filter(name=query["name"])
        if query.get("latest"):
            specs = specs.latest_versions()
        return specs.order_by("kind", "name", "-version", "id")

    def get_serializer_class(self):
        return SpecDetailSerializer if self.action == "retrieve" else SpecSerializer

    @extend_schema(parameters=[SpecListQuery])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request={
            "application/yaml": OpenApiTypes.STR,
            "application/json": SpecApplyRequestSerializer,
        },
        parameters=[SpecApplyQuery],
        responses={
            201: ApplyResultSerializer,
            200: OpenApiResponse(
                ApplyResultSerializer, description="every document unchanged (or a dry run)"
            ),
            400: SpecErrorsSerializer,
        },
    )
    def create(self, request):
        """Apply a spec file: YAML body, ``{"yaml": "...", "file": "x.yaml"}``, or JSON documents."""
        source = request_filename(request)
        try:
            dry_run = self.query().get("dry_run", False)
        except ValidationError as exc:
            message = f"query parameter dry_run: {exc.detail['dry_run'][0]}"
            return _errors_response(SpecValidationError([_body_error(source, message, path="dry_run")]))
        data = request.data
        if isinstance(data, ParsedFile):
            files = [data]
        elif isinstance(data, dict) and "yaml" in data and "kind" not in data:
            text = data["yaml"]
            source = data.get("file") if isinstance(data.get("file"), str) else DEFAULT_SOURCE
            if not isinstance(text, str):
                error = _body_error(source, "`yaml` must be the text of a YAML file", path="yaml")
                return _errors_response(SpecValidationError([error]))
            files = [parse_text(text, source=source, max_bytes=settings.SPEC_MAX_BYTES)]
        elif data:
            try:
                result = spec_apply_data(data=data, owner=request.user, source=source, dry_run=dry_run)
            except SpecValidationError as exc:
                return _errors_response(exc)
            return _result_response(result)
        else:
            files = [parse_text("", source=source, max_bytes=settings.SPEC_MAX_BYTES)]
        try:
            result = spec_apply_parsed(files=files, owner=request.user, dry_run=dry_run)
        except SpecValidationError as exc:
            return _errors_response(exc)
        return _result_response(result)

    @extend_schema(responses=SpecSerializer(many=True))
    @action(detail=True, methods=["get"])
    def versions(self, request, pk=None):
        """Every version of this spec, newest first (paginated like every list)."""
        spec = self.get_object()
        page = self.paginate_queryset(spec.versions().select_related("owner"))
        return self.get_paginated_response(
            SpecSerializer(page, many=True, context=self.get_serializer_context()).data
        )


def _body_error(source: str, message: str, *, path: str = "") -> SpecError:
    """A problem with the request body itself, in the spec error shape."""
    return SpecError(
        file=source, doc_index=None, kind=None, name=None, path=path, line=None, column=None, message=message
    )


def _errors_response(exc: SpecValidationError) -> Response:
    return Response({"detail": exc.summary(), "errors": exc.as_dicts()}, status=status.HTTP_400_BAD_REQUEST)


def _result_response(result) -> Response:
    code = status.HTTP_201_CREATED if result.changed and not result.dry_run else status.HTTP_200_OK
    return Response(result.as_dict(), status=code)


class SpecSchemaView(APIView):
    """The JSON Schema of a spec kind, for editors (no authentication needed)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    renderer_classes = [JSONRenderer]

    @extend_schema(
        parameters=[OpenApiParameter("kind", location=OpenApiParameter.PATH, enum=[*KIND_SLUGS, "spec"])],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request, kind: str):
        if kind == "spec":
            return Response(combined_schema())
        if kind not in KIND_SLUGS:
            raise NotFound(f"no schema {kind!r}; one of {', '.join([*KIND_SLUGS, 'spec'])}")
        return Response(served_schema(KIND_SLUGS[kind]))

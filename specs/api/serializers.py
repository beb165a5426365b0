"""Spec API representations (reads) and the shapes of apply results and errors (docs)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from specs.models import Spec


@extend_schema_field(
    {"oneOf": [{"type": "string", "minLength": 1, "maxLength": 100}, {"type": "integer", "minimum": 1}]}
)
class SpecRefField(serializers.CharField):
    """A spec by name (its latest version) or by numeric id (that exact version), as a
    string or an integer; not a float or a boolean, which DRF's CharField would take."""

    def __init__(self, **kwargs):
        super().__init__(max_length=100, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, float):
            self.fail("invalid")
        return super().to_internal_value(data)


class SpecSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.get_username", read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="api:spec-detail")

    class Meta:
        model = Spec
        fields = ("id", "url", "kind", "name", "version", "owner", "content_hash", "created_at")
        read_only_fields = fields


class SpecDetailSerializer(SpecSerializer):
    versions_url = serializers.HyperlinkedIdentityField(view_name="api:spec-versions")

    class Meta(SpecSerializer.Meta):
        fields = (*SpecSerializer.Meta.fields, "versions_url", "yaml_text", "data")
        read_only_fields = fields


class SpecApplyRequestSerializer(serializers.Serializer):
    """JSON body: ``{"yaml": "..."}`` (optionally ``"file"``), or documents themselves."""

    yaml = serializers.CharField(help_text="A (multi-document) YAML spec file.")
    file = serializers.CharField(required=False, help_text="The file name used in errors.")


class AppliedDocumentSerializer(serializers.Serializer):
    file = serializers.CharField()
    document = serializers.IntegerField()
    kind = serializers.CharField()
    name = serializers.CharField()
    version = serializers.IntegerField()
    action = serializers.ChoiceField(choices=["created", "updated", "unchanged"])
    id = serializers.IntegerField()
    content_hash = serializers.CharField()


class ApplyResultSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    documents = AppliedDocumentSerializer(many=True)


class SpecErrorSerializer(serializers.Serializer):
    file = serializers.CharField()
    document = serializers.IntegerField(allow_null=True)
    kind = serializers.CharField(allow_null=True)
    name = serializers.CharField(allow_null=True)
    path = serializers.CharField()
    line = serializers.IntegerField(allow_null=True)
    column = serializers.IntegerField(allow_null=True)
    message = serializers.CharField()


class SpecErrorsSerializer(serializers.Serializer):
    """A refused spec file: every problem found. ``errors`` is absent when the request
    itself was refused before any file was read (a body that is not JSON, a NUL in the
    URL)."""

    detail = serializers.CharField()
    errors = SpecErrorSerializer(many=True, required=False)

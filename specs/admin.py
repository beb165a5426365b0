"""Specs in the admin: read-only versions, and an "Apply YAML" page (upload or paste)."""

from __future__ import annotations

import json

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from specs.models import Spec
from specs.parsing import parse_bytes, parse_text
from specs.services import SpecValidationError, spec_apply_parsed


class SpecApplyForm(forms.Form):
    file = forms.FileField(required=False, help_text="A .yaml/.yml spec file.")
    text = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 24, "cols": 100, "style": "font-family: monospace"}),
        help_text="Or paste the YAML here.",
    )
    dry_run = forms.BooleanField(required=False, label="Validate only (store nothing)")

    def clean(self):
        cleaned = super().clean()
        if bool(cleaned.get("file")) == bool(cleaned.get("text")):
            raise forms.ValidationError("Upload a file or paste YAML text (one of the two).")
        return cleaned

    def parsed(self):
        """The chosen input as a ParsedFile, read no further than SPEC_MAX_BYTES."""
        max_bytes = settings.SPEC_MAX_BYTES
        upload = self.cleaned_data.get("file")
        if upload:
            return parse_bytes(upload.read(max_bytes + 1), source=upload.name, max_bytes=max_bytes)
        return parse_text(self.cleaned_data["text"], source="<pasted>", max_bytes=max_bytes)


@admin.register(Spec)
class SpecAdmin(admin.ModelAdmin):
    list_display = ("kind", "name", "version", "owner", "created_at", "hash_prefix")
    list_filter = ("kind", "owner")
    search_fields = ("name",)
    list_select_related = ("owner",)
    ordering = ("kind", "name", "-version")
    fields = (
        "kind",
        "name",
        "version",
        "owner",
        "created_at",
        "content_hash",
        "yaml",
        "versions_list",
        "data_json",
    )
    readonly_fields = fields

    @admin.display(description="hash")
    def hash_prefix(self, spec: Spec) -> str:
        return spec.short_hash

    @admin.display(description="YAML")
    def yaml(self, spec: Spec) -> str:
        return format_html('<pre style="white-space: pre; overflow-x: auto">{}</pre>', spec.yaml_text)

    @admin.display(description="normalised data")
    def data_json(self, spec: Spec) -> str:
        return format_html("<pre>{}</pre>", json.dumps(spec.data, indent=2, ensure_ascii=False))

    @admin.display(description="versions")
    def versions_list(self, spec: Spec) -> str:
        rows = [
            (
                reverse("admin:specs_spec_change", args=[other.pk]),
                f"v{other.version}",
                other.created_at.strftime("%Y-%m-%d %H:%M"),
                other.short_hash,
                " (this one)" if other.pk == spec.pk else "",
            )
            for other in spec.versions()
        ]
        return format_html("<ul>{}</ul>", format_html_join("", '<li><a href="{}">{}</a> {} {}{}</li>', rows))

    # Stored versions never change (runs point at them) and are added by applying YAML.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        apply_view = self.admin_site.admin_view(self.apply_view)
        return [path("apply/", apply_view, name="specs_spec_apply"), *super().get_urls()]

    def apply_view(self, request):
        if not request.user.has_perm("specs.add_spec"):
            raise PermissionDenied
        result, errors, status = None, None, 200
        if request.method == "POST":
            form = SpecApplyForm(request.POST, request.FILES)
            if form.is_valid():
                try:
                    result = spec_apply_parsed(
                        files=[form.parsed()], owner=request.user, dry_run=form.cleaned_data["dry_run"]
                    )
                except SpecValidationError as exc:
                    errors, status = exc, 400
        else:
            form = SpecApplyForm()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Apply YAML specs",
            "form": form,
            "result": result,
            "error_summary": errors.summary() if errors else None,
            "errors": errors.as_dicts() if errors else None,
            "max_bytes": settings.SPEC_MAX_BYTES,
        }
        return TemplateResponse(request, "admin/specs/spec/apply.html", context, status=status)

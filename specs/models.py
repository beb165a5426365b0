"""Stored specs: one immutable row per version of a (owner, kind, name).

Runs point at an exact row, so a row is never changed once saved: applying changed
content adds the next version and keeps every older one.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q

from specs.owners import OwnedQuerySet

NAME_PATTERN = r"^[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?$"
name_validator = RegexValidator(
    NAME_PATTERN,
    "A name is lowercase letters, digits, '-', '_' and '.', starting and ending with a letter or digit.",
)


class SpecKind(models.TextChoices):
    BACKTEST = "Backtest", "Backtest"
    SWEEP = "Sweep", "Sweep"
    REPORT_LAYOUT = "ReportLayout", "Report layout"


class SpecNotFound(LookupError):
    """No spec answers a reference; the message says what was asked for."""


class SpecQuerySet(OwnedQuerySet):
    def for_ref(self, user, kind: str, ref: str | int, version: int | None = None) -> Spec:
        """The ``kind`` spec ``ref`` visible to ``user``: a numeric id (that exact version),
        or a name, which always means the user's own spec (names are unique per owner):
        its ``version``, or the newest. ``SpecNotFound`` otherwise."""
        specs = self.visible_to(user).filter(kind=kind)
        text = str(ref).strip()
        if text.isascii() and text.isdigit() and version is None:  # not "²", which isdigit() takes
            spec = specs.filter(pk=int(text)).first()
            if spec is None:
                raise SpecNotFound(f"no {kind} spec with id {text}")
            return spec
        named = specs.filter(name=text, owner=user)
        spec = named.filter(version=version).first() if version else named.order_by("-version").first()
        if spec is None:
            what = f"{text!r} version {version}" if version else repr(text)
            raise SpecNotFound(f"no {kind} spec named {what}")
        return spec

    def latest_versions(self) -> SpecQuerySet:
        """Only the newest version of each (owner, kind, name)."""
        newer = Spec.objects.filter(
            owner=OuterRef("owner"),
            kind=OuterRef("kind"),
            name=OuterRef("name"),
            version__gt=OuterRef("version"),
        )
        return self.filter(~Exists(newer))

    def latest_version(self, *, owner, kind: str, name: str) -> Spec | None:
        """The newest version of ``owner``'s ``kind`` spec ``name``, or None."""
        return self.filter(owner=owner, kind=kind, name=name).order_by("-version").first()


class Spec(models.Model):
    Kind = SpecKind

    kind = models.CharField(max_length=20, choices=SpecKind.choices)
    name = models.CharField(max_length=100, validators=[name_validator])
    version = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    # The document's own text as applied (its YAML rendering when it came as JSON).
    yaml_text = models.TextField()
    # Normalised: defaults filled in, numbers canonical; see docs/specs.md.
    data = models.JSONField()
    # sha256 of the canonical JSON of `data`: equal hashes mean the same spec.
    content_hash = models.CharField(max_length=64, db_index=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="specs")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SpecQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "kind", "name", "version"], name="spec_unique_version"),
            models.CheckConstraint(condition=Q(version__gte=1), name="spec_version_from_1"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.name} v{self.version}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            # Runs reference exact versions; changing one would rewrite what they ran.
            raise ValueError(f"{self} is stored and cannot be changed; apply a new version instead")
        super().save(*args, **kwargs)

    def versions(self) -> SpecQuerySet:
        """Every version of this spec (same owner, kind and name), newest first."""
        return Spec.objects.filter(owner_id=self.owner_id, kind=self.kind, name=self.name).order_by(
            "-version"
        )

    def latest(self) -> Spec:
        """The newest version of this spec (possibly itself)."""
        return self.versions().first() or self

    @property
    def short_hash(self) -> str:
        return self.content_hash[:12]

    def backtest_spec(self) -> Spec:
        """For a Sweep: the exact Backtest version it was validated against and runs on."""
        if self.kind != SpecKind.SWEEP:
            raise ValueError(f"{self} is not a Sweep")
        return Spec.objects.get(
            owner_id=self.owner_id,
            kind=SpecKind.BACKTEST,
            name=self.data["backtest"],
            version=self.data["backtest_version"],
        )

    def report_layout(self) -> Spec | None:
        """For a Backtest: the newest version of its ReportLayout, if it names one."""
        if self.kind != SpecKind.BACKTEST:
            raise ValueError(f"{self} is not a Backtest")
        report = self.data.get("report")
        if not report:
            return None
        return Spec.objects.latest_version(owner=self.owner_id, kind=SpecKind.REPORT_LAYOUT, name=report)

"""Ownership: who may see a spec, a run or a sweep, and who owns what a command applies.

- ``OwnedQuerySet.visible_to(user)``: the one visibility rule. Staff see everything;
  anyone else only their own. Specs, runs and sweeps all use it.
- ``resolve_owner``: ``--user USERNAME``, else the ``SPEC_OWNER`` environment variable,
  else the only superuser. Anything else is a ``CommandError`` that says what to do.
"""

from __future__ import annotations

import os

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.db import models


class OwnedQuerySet(models.QuerySet):
    """A queryset of objects with an ``owner``."""

    def visible_to(self, user):
        """Staff see everything; anyone else only their own."""
        return self if user.is_staff else self.filter(owner=user)


def resolve_owner(username: str | None = None):
    """The user named by ``username`` / ``SPEC_OWNER``, or the only superuser."""
    User = get_user_model()
    for value, origin in ((username, "--user"), (os.environ.get("SPEC_OWNER"), "SPEC_OWNER")):
        if value:
            try:
                return User.objects.get_by_natural_key(value)
            except User.DoesNotExist:
                raise CommandError(f"no user named {value!r} (from {origin})") from None
    superusers = list(User.objects.filter(is_superuser=True, is_active=True).order_by("pk")[:3])
    if len(superusers) == 1:
        return superusers[0]
    found = "no superuser exists" if not superusers else "there are several superusers"
    raise CommandError(f"who owns these specs? Pass --user USERNAME or set SPEC_OWNER ({found})")

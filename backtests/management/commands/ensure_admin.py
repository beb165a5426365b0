"""`manage.py ensure_admin --username U --password P`: create or reset a local superuser.

Used by `make run` so the printed admin login always works. Refuses to run with
DEBUG off unless --force is given, so it cannot reset a production password by
accident.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Create (or reset the password of) a superuser for local use."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password", required=True)
        parser.add_argument("--email", default="admin@localhost")
        parser.add_argument("--force", action="store_true", help="allow with DEBUG off")

    def handle(self, *args, username, password, email, force, **options):
        if not settings.DEBUG and not force:
            raise CommandError("ensure_admin is for local use: set DEBUG=1 or pass --force")
        user, created = get_user_model().objects.get_or_create(username=username, defaults={"email": email})
        user.is_staff = user.is_superuser = user.is_active = True
        user.set_password(password)
        user.save()
        self.stdout.write(f"{'created' if created else 'updated'} superuser {username!r}")

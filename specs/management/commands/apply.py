"""`manage.py apply -f FILE_OR_DIR`: validate and store spec files, all or nothing.

    apply -f specs/examples/hyperrsi.yaml [--user alice] [--dry-run] [--json]

A directory applies every *.yaml / *.yml in it (sorted) as one unit, so documents may
reference each other across files. Several -f are one unit too.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from inputs.text import printable
from specs.owners import resolve_owner
from specs.services import SpecValidationError, spec_apply_parsed, spec_parse_path


class Command(BaseCommand):
    help = "Validate and store YAML specs from files or directories (all or nothing)."

    def add_arguments(self, parser):
        parser.add_argument(
            "-f",
            "--filename",
            action="append",
            required=True,
            metavar="FILE_OR_DIR",
            help="a spec file, or a directory of *.yaml/*.yml files; repeatable",
        )
        parser.add_argument(
            "--user", help="owner of the specs (default: SPEC_OWNER, else the only superuser)"
        )
        parser.add_argument("--dry-run", action="store_true", help="validate and report, store nothing")
        parser.add_argument("--json", action="store_true", help="print the result (or the errors) as JSON")

    def handle(self, *args, **opts):
        owner = resolve_owner(opts["user"])
        files = [parsed for path in opts["filename"] for parsed in spec_parse_path(path)]
        try:
            result = spec_apply_parsed(files=files, owner=owner, dry_run=opts["dry_run"])
        except SpecValidationError as exc:
            if opts["json"]:
                self.stdout.write(json.dumps({"detail": exc.summary(), "errors": exc.as_dicts()}, indent=2))
            for error in exc.errors:
                self.stderr.write(printable(f"rejected  {error}"))
            raise CommandError(printable(exc.summary())) from exc
        if opts["json"]:
            self.stdout.write(json.dumps(result.as_dict(), indent=2))
            return
        for document in result.documents:
            self.stdout.write(printable(str(document)))
        prefix = "dry run, nothing stored: " if result.dry_run else ""
        self.stdout.write(
            f"{prefix}{result.count('created')} created, {result.count('updated')} updated, "
            f"{result.count('unchanged')} unchanged"
        )

"""Shared set-up of the bench scripts that need Django and the project's services.

``django_setup()`` puts the repository on ``sys.path``, reads ``.services/env`` (written
by ``make services``) for the database and Redis URLs unless the environment already
has them, supplies a throw-away SECRET_KEY, and starts Django with the normal settings.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def django_setup(**env_defaults: str) -> None:
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    if "DATABASE_URL" not in os.environ:
        from manage import load_local_env  # the repository's reader of KEY=value files

        load_local_env(str(REPO / ".services" / "env"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backtest_project.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
    # a bench prints figures: the queue's and the worker's INFO lines stay out
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    for key, value in env_defaults.items():
        os.environ.setdefault(key, value)
    import django

    django.setup()

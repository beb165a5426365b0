#!/usr/bin/env python
"""Django's command-line utility for administrative tasks.

Before Django starts it reads ``var/local.env`` (written by ``make run``) for any
variable the environment does not already set, so after ``make run`` a plain
shell can run ``python manage.py backtest NAME --wait`` against the same
database, cache and queue. Commands that work on files only (``backtest
--spec … --candles …``, ``lookahead --spec …``) need no secret key and get a
throw-away one.

Logs go to stderr. A command's log level is WARNING unless LOG_LEVEL says otherwise,
so what a command prints is its own (a run it executes in-process logs its INFO
lines only with LOG_LEVEL=INFO); the long-running servers (qcluster, runserver) log
at LOG_LEVEL's default, INFO.
"""

import os
import secrets
import sys
from pathlib import Path

# BACKTEST_LOCAL_ENV names another file, or "" for none (tests that need a bare environment).
LOCAL_ENV = os.environ.get("BACKTEST_LOCAL_ENV", str(Path(__file__).resolve().parent / "var" / "local.env"))
OFFLINE_COMMANDS = {"backtest", "lookahead"}
SERVER_COMMANDS = {"qcluster", "runserver"}


def load_local_env(name: str = LOCAL_ENV) -> None:
    """Set ``KEY=value`` lines of file ``name`` that are not set yet (comments and blanks skipped)."""
    path = Path(name)
    if not name or not path.is_file():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        os.environ.setdefault(key.strip(), value.strip().strip("'\""))


def main() -> None:
    from inputs.text import text_problem

    # Arguments that are not UTF-8 reach Python as lone surrogates, which no database,
    # file or message can hold: refuse them here, once, for every command.
    for position, arg in enumerate(sys.argv[1:], start=1):
        if text_problem(arg):
            raw = os.fsencode(arg)
            sys.exit(f"manage.py: argument {position} ({raw!r}) is not UTF-8 text; give names in UTF-8")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backtest_project.settings")
    load_local_env()
    if len(sys.argv) > 1 and sys.argv[1] not in SERVER_COMMANDS:
        os.environ.setdefault("LOG_LEVEL", "WARNING")
    if len(sys.argv) > 1 and sys.argv[1] in OFFLINE_COMMANDS and "--spec" in sys.argv:
        os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(32))
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()

"""gunicorn's settings for the web process: ``gunicorn -c deploy/gunicorn.conf.py …``.

Its own lines (boot, worker restarts) are formatted like the service's (JSON lines
unless LOG_FORMAT=console); requests are logged once, by the service
(django-structlog's request_finished), so gunicorn's access log is off. With
PROMETHEUS_MULTIPROC_DIR, a worker that exits has its live gauges removed.
"""

import os

from prometheus_client import multiprocess

from backtest_project.observability.logs import configure_structlog, logging_config

wsgi_app = "backtest_project.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# A report's PDF of a long run takes seconds; nginx waits a little longer than this.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))

_debug = os.environ.get("DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}
_level = (os.environ.get("LOG_LEVEL") or "INFO").upper()
configure_structlog()
logconfig_dict = logging_config(
    level=_level, fmt=(os.environ.get("LOG_FORMAT") or ("console" if _debug else "json")).lower()
)
# gunicorn gives its loggers handlers of their own: name them here to replace those.
# Its access lines are INFO: WARNING keeps them off (the service logs each request).
logconfig_dict["loggers"]["gunicorn.error"] = {"handlers": ["stderr"], "level": _level, "propagate": False}
logconfig_dict["loggers"]["gunicorn.access"] = {
    "handlers": ["stderr"],
    "level": "WARNING",
    "propagate": False,
}


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)

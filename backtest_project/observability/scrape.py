"""What a Prometheus scrape reads, who may read it, and the two places it is served.

- ``registry``: with PROMETHEUS_MULTIPROC_DIR, the sum over every process's files
  (gunicorn workers, qcluster workers, finished processes' counters); without it,
  this process's metrics. Plus the scrape-time collectors.
- ``allowed``: a request from an address of METRICS_ALLOWED_IPS (default: loopback
  only), or one that carries ``Authorization: Bearer <METRICS_TOKEN>``. Anything else
  is refused, 401 when a token is configured, else 403.
- ``metrics_view``: the web's ``/metrics`` (Django view, the database collectors too).
- ``serve_worker_metrics``: a worker host's ``/metrics`` on METRICS_PORT, a small WSGI
  server in a thread of the qcluster's main process, started on
  ``jobs.signals.cluster_started`` (no database collectors: the web serves those once
  for the whole service).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import threading
from collections.abc import Iterator
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.registry import Collector

from backtest_project.observability.collectors import StateCollector, SystemCollector

log = logging.getLogger(__name__)


class _ThisProcess(Collector):
    """The default registry's metrics (single-process mode)."""

    def collect(self) -> Iterator:
        yield from REGISTRY.collect()


def registry(*, state: bool) -> CollectorRegistry:
    """A registry for one endpoint; ``state``: with the database and queue gauges."""
    reg = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(reg)
    else:
        reg.register(_ThisProcess())
    reg.register(SystemCollector())
    if state:
        reg.register(StateCollector())
    return reg


def allowed(remote_addr: str, authorization: str) -> bool:
    """May this client read the metrics? (see the module docstring)"""
    token = settings.METRICS_TOKEN
    scheme, _, given = authorization.partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return True
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return False
    return any(address in network for network in settings.METRICS_ALLOWED_NETWORKS)


def _refusal() -> tuple[int, dict[str, str], bytes]:
    if settings.METRICS_TOKEN:
        return 401, {"WWW-Authenticate": 'Bearer realm="metrics"'}, b"metrics: a bearer token is required\n"
    return 403, {}, b"metrics: this address is not in METRICS_ALLOWED_IPS\n"


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """``/metrics`` of the web process: every process's metrics, the queue and the host."""
    if not allowed(request.META.get("REMOTE_ADDR", ""), request.headers.get("Authorization", "")):
        status, headers, body = _refusal()
        return HttpResponse(body, status=status, headers=headers, content_type="text/plain")
    return HttpResponse(generate_latest(registry(state=True)), content_type=CONTENT_TYPE_LATEST)


class _Quiet(WSGIRequestHandler):
    def log_message(self, format, *args):  # Prometheus scrapes every few seconds: no access log
        pass


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def worker_metrics_app(reg: CollectorRegistry):
    """The WSGI app of a worker's ``/metrics`` over ``reg`` (same access rule as the web's)."""

    def app(environ, start_response):
        if environ.get("PATH_INFO", "/") not in {"/", "/metrics"}:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        if not allowed(environ.get("REMOTE_ADDR", ""), environ.get("HTTP_AUTHORIZATION", "")):
            status, headers, body = _refusal()
            reason = "Unauthorized" if status == 401 else "Forbidden"
            start_response(f"{status} {reason}", [("Content-Type", "text/plain"), *headers.items()])
            return [body]
        body = generate_latest(reg)
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))])
        return [body]

    return app


def on_cluster_started(**_kwargs) -> None:
    """``jobs.signals.cluster_started``: with METRICS_PORT set, serve this cluster's
    ``/metrics``. A port that is taken is logged: the workers matter more."""
    if not settings.METRICS_PORT:
        return
    try:
        serve_worker_metrics(settings.METRICS_PORT, settings.METRICS_ADDR)
    except OSError as exc:
        log.error(
            "cannot serve metrics on %s:%s (%s); the workers run without them",
            settings.METRICS_ADDR,
            settings.METRICS_PORT,
            exc,
        )


def serve_worker_metrics(port: int, addr: str) -> WSGIServer:
    """Serve ``/metrics`` on ``addr:port`` from a daemon thread; returns the server
    (``shutdown()`` stops it). ``OSError`` when the port is taken."""
    app = worker_metrics_app(registry(state=False))
    server = make_server(addr, port, app, server_class=_ThreadingServer, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    log.info("worker metrics on http://%s:%s/metrics", addr, server.server_port)
    return server

"""Observability: Prometheus metrics at ``/metrics`` and structured logs (docs/operations.md).

One module per concern: ``metrics`` (the service's own metric objects and the
functions that record them), ``collectors`` (gauges read at scrape time: queue,
workers, system), ``scrape`` (the registry a scrape reads, its access rule and the
two endpoints: the web's view and a worker's small HTTP server), ``logs`` (structlog
and the LOGGING dict), ``events`` (what a job's end records: metrics and the
``backtest_completed`` log event). Django app: ``backtest_project.observability``.
"""

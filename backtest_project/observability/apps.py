from django.apps import AppConfig


class ObservabilityConfig(AppConfig):
    name = "backtest_project.observability"
    label = "observability"
    verbose_name = "observability"

    def ready(self) -> None:
        from prometheus_client import disable_created_metrics

        from backtest_project.observability import events, logs, scrape
        from jobs.signals import cluster_started

        # No "_created" series beside every counter and histogram (multiprocess mode has
        # none either): one shape of page whichever way the service runs.
        disable_created_metrics()
        events.connect()
        logs.connect_request_signals()
        cluster_started.connect(scrape.on_cluster_started, dispatch_uid="observability-worker-metrics")

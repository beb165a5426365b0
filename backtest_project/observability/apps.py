from django.apps import AppConfig


class ObservabilityConfig(AppConfig):
    name = "backtest_project.observability"
    label = "observability"
    verbose_name = "observability"

    def ready(self) -> None:
        from backtest_project.observability import events, logs

        events.connect()
        logs.connect_request_signals()

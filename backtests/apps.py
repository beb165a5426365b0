from django.apps import AppConfig


class BacktestsConfig(AppConfig):
    name = "backtests"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from backtests.models import BacktestRun
        from jobs.housekeeping import register
        from jobs.models import JobStatus

        def give_up(pk: int, reason: str) -> None:
            BacktestRun.error_out(pk, error=f"run {pk}: {reason}", from_statuses=(JobStatus.RUNNING,))

        register(BacktestRun, on_exhausted=give_up)

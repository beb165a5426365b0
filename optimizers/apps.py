from django.apps import AppConfig


class OptimizersConfig(AppConfig):
    name = "optimizers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models import Q

        from jobs.housekeeping import register, register_pass
        from jobs.models import JobStatus
        from optimizers.models import SweepChunk
        from optimizers.services.lifecycle import chunk_gave_up, sweeps_nudge
        from optimizers.spec_rules import SweepRules
        from specs.kinds import register_sweep_rules

        register_sweep_rules(SweepRules())

        # a sweep's chunks are rung by its coordinator once it runs; only then may the
        # housekeeper ring them again
        register(SweepChunk, on_exhausted=chunk_gave_up, ready=Q(run__status=JobStatus.RUNNING))
        register_pass("sweeps_nudged", sweeps_nudge)

from django.apps import AppConfig


def _chunk_gave_up(chunk_id: int, reason: str) -> None:
    # imported when called: the services pull in the candle reader (pandas) and the
    # kernels, which a process that only starts Django should not pay for
    from optimizers.services.lifecycle import chunk_gave_up

    chunk_gave_up(chunk_id, reason)


def _sweeps_nudge(now) -> int:
    from optimizers.services.lifecycle import sweeps_nudge

    return sweeps_nudge(now)


class OptimizersConfig(AppConfig):
    name = "optimizers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models import Q

        from jobs.housekeeping import register, register_pass
        from jobs.models import JobStatus
        from optimizers.models import SweepChunk
        from optimizers.spec_rules import SweepRules
        from specs.kinds import register_sweep_rules

        register_sweep_rules(SweepRules())

        # a sweep's chunks are rung by its coordinator once it runs; only then may the
        # housekeeper ring them again
        register(SweepChunk, on_exhausted=_chunk_gave_up, ready=Q(run__status=JobStatus.RUNNING))
        register_pass("sweeps_nudged", _sweeps_nudge)

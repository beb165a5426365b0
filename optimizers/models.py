"""Sweeps: an OptimizationRun, the chunks its combinations are queued in, and its trials.

Lifecycles (the shared ones of ``jobs.models``: every transition a guarded UPDATE on
the expected current status; a final status is never overwritten):

- OptimizationRun, a ``MarketJob``: ``queued → running → succeeded | failed | errored | cancelled``.
- SweepChunk, a ``Delivery``: ``queued → running → done``; a ``running`` chunk whose
  worker stopped beating goes back to ``queued`` (the housekeeper; its ``attempts``
  counts claims).

A Trial is unique per (run, params_hash): a combination is evaluated at most once per
run, whatever the number of deliveries, workers or generations that propose it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from jobs.models import Delivery, MarketJob


class RankingIndex(models.Index):
    """A ``models.Index`` whose NULLS LAST is left out on SQLite, which cannot index it.

    PostgreSQL gets the exact ranking order (see RANKING); the embedded SQLite default
    gets the same index without the NULLS modifier, which it still uses for the range.
    """

    def create_sql(self, model, schema_editor, using="", **kwargs):
        if schema_editor.connection.vendor != "sqlite":
            return super().create_sql(model, schema_editor, using=using, **kwargs)
        plain = [
            models.OrderBy(e.expression, descending=e.descending) if isinstance(e, models.OrderBy) else e
            for e in self.expressions
        ]
        return models.Index(*plain, name=self.name).create_sql(model, schema_editor, using=using, **kwargs)


class SweepMethod(models.TextChoices):
    GRID = "grid"
    GENETIC = "genetic"
    RANDOM = "random"


class ChunkStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"


# The metrics kept as indexed columns on a trial (sortable in admin and API); the
# rest are in Trial.metrics.
TRIAL_METRIC_COLUMNS = (
    "total_return",
    "sharpe_ratio",
    "max_drawdown",
    "win_rate",
    "total_trades",
    "profit_factor",
)


class OptimizationRun(MarketJob):
    JOB_KIND = "sweep"

    spec = models.ForeignKey("specs.Spec", on_delete=models.PROTECT, related_name="sweeps")
    backtest_spec = models.ForeignKey("specs.Spec", on_delete=models.PROTECT, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sweeps")
    method = models.CharField(max_length=16, choices=SweepMethod.choices)
    strategy = models.CharField(max_length=64)
    symbol = models.CharField(max_length=64)
    timeframe = models.CharField(max_length=8)
    objective_metric = models.CharField(max_length=32)
    objective_direction = models.CharField(max_length=8)
    min_trades = models.PositiveIntegerField(default=0)

    # Progress: combinations planned (grid/random: all; genetic: at most population x
    # generations, fixed when it ends), evaluated so far, chunks.
    total_combinations = models.PositiveIntegerField(default=0)
    evaluated = models.PositiveIntegerField(default=0)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    generation = models.IntegerField(default=-1)  # genetic: the generation being evaluated
    eval_seconds = models.FloatField(default=0.0)  # summed over chunks (kernel + indicators)
    # Set by the one coordinator that finalises (best, validation report, status).
    finalizing_at = models.DateTimeField(null=True, blank=True)

    best_trial = models.ForeignKey(
        "Trial", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    best_params = models.JSONField(null=True, blank=True)
    best_metrics = models.JSONField(null=True, blank=True)
    best_objective = models.FloatField(null=True, blank=True)

    # Genetic: {"population": [...], "best_key": [...], "stale": n} of the current generation.
    state = models.JSONField(default=dict, blank=True)
    # Genetic: one {"generation", "best", "mean", "best_so_far", "evaluated"} per generation.
    generation_stats = models.JSONField(default=list, blank=True)
    # out_of_sample / walk_forward report (see optimizers.validation), null without one.
    validation = models.JSONField(null=True, blank=True)
    # PBO, deflated Sharpe ratio, bootstrap interval, edge flags, verdict
    # (optimizers.services.overfitting), computed when the sweep ends.
    overfitting = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-queued_at", "-id"]
        indexes = [models.Index(fields=["owner", "status"])]

    def __str__(self) -> str:
        return f"sweep {self.pk} ({self.method}, {self.status})"

    @property
    def progress(self) -> float:
        return self.evaluated / self.total_combinations if self.total_combinations else 0.0


class SweepChunk(Delivery):
    TASK = "optimizers.tasks.execute_chunk"
    TASK_LABEL = "sweep-chunk"
    TASK_GROUP = "sweep-chunks"

    run = models.ForeignKey(OptimizationRun, on_delete=models.CASCADE, related_name="chunks")
    seq = models.PositiveIntegerField()  # 0.. over the whole run
    generation = models.IntegerField(default=0)  # genetic: its generation; else 0
    # The swept params of each combination to evaluate (base params are in the run).
    params = models.JSONField()
    size = models.PositiveIntegerField()
    status = models.CharField(
        max_length=16, choices=ChunkStatus.choices, default=ChunkStatus.QUEUED, db_index=True
    )
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)  # of the current claim
    finished_at = models.DateTimeField(null=True, blank=True)
    eval_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["run_id", "seq"]
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="sweepchunk_unique_seq")]
        indexes = [models.Index(fields=["run", "status"]), models.Index(fields=["status", "started_at"])]

    def __str__(self) -> str:
        return f"chunk {self.seq} of sweep {self.run_id} ({self.status})"


def _metric():
    return models.FloatField(null=True, blank=True, db_index=True)


class Trial(models.Model):
    run = models.ForeignKey(OptimizationRun, on_delete=models.CASCADE, related_name="trials")
    chunk = models.ForeignKey(
        SweepChunk, null=True, blank=True, on_delete=models.SET_NULL, related_name="trials"
    )
    generation = models.IntegerField(default=0)
    params = models.JSONField()  # the swept params only
    params_hash = models.CharField(max_length=64)  # sha256 of optimizers.space.canonical(params)
    total_return = _metric()
    sharpe_ratio = _metric()
    max_drawdown = _metric()
    win_rate = _metric()
    total_trades = models.IntegerField(null=True, blank=True, db_index=True)
    profit_factor = _metric()
    # The objective metric's value; `score` is it signed so that larger is better
    # (null when undefined) and `qualified` says total_trades >= min_trades: the
    # ranking is qualified desc, score desc nulls last, id.
    objective = models.FloatField(null=True, blank=True)
    score = models.FloatField(null=True, blank=True)
    qualified = models.BooleanField(default=True)
    metrics = models.JSONField()  # every contract metric
    oos_metrics = models.JSONField(null=True, blank=True)  # out of sample, for the top-N
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["run_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "params_hash"], name="trial_unique_params_per_run")
        ]
        # the ranking order exactly (RANKING), so a top-N is an index range scan
        indexes = [
            RankingIndex(
                models.F("run"),
                models.F("qualified").desc(),
                models.F("score").desc(nulls_last=True),
                models.F("id"),
                name="trial_ranking",
            )
        ]

    def __str__(self) -> str:
        return f"trial {self.pk} of sweep {self.run_id}"


RANKING = (
    models.F("qualified").desc(),
    models.F("score").desc(nulls_last=True),
    models.F("id").asc(),
)

"""`manage.py sweep NAME [--wait | --inline] [--user U] [--json]`: start a sweep of a stored
Sweep spec.

Without --wait it queues the sweep and prints its id; with --wait it follows the
progress (evaluated / total, best so far) until the sweep ends and prints the top
combinations (at once an error when no worker is running); --inline runs the whole
sweep in this process instead. The owner is --user, else SPEC_OWNER, else the only
superuser.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from jobs.follow import add_queue_arguments, queue_and_follow, raise_unless_succeeded


class Command(BaseCommand):
    help = "Start (or start and follow) a sweep of a stored Sweep spec."

    def add_arguments(self, parser):
        parser.add_argument("name", help="a stored Sweep spec's name (latest version) or id")
        add_queue_arguments(parser, what="sweep", it="the sweep", then="print the best")
        parser.add_argument("--json", action="store_true", help="print JSON instead of text")
        parser.add_argument("--top", type=int, default=5, help="with --wait: how many of the best to print")

    def handle(self, *args, **opts):
        import optimizers.compile_ahead  # noqa: F401 (registers the kernels of sweeps and below)
        from engine.compile_ahead import ensure_compiled
        from optimizers import services
        from specs.owners import resolve_owner

        # See the backtest command: a cold kernel cache is compiled here, with progress.
        ensure_compiled(lambda line: self.stderr.write(line, style_func=str))

        owner = resolve_owner(opts["user"])

        def enqueue():
            spec = services.sweep_spec_for(owner, opts["name"])
            return spec, services.sweep_create(spec=spec, owner=owner)

        def queued_details(run) -> str:
            at_most = " at most" if run.method == "genetic" else ""
            return f": {run.method}, {run.total_combinations:,} combinations{at_most}"

        def describe(run) -> str:
            line = f"{run.status}  {run.evaluated:,}/{run.total_combinations:,}"
            if run.best_objective is not None:
                line += f"  best {run.objective_metric}={run.best_objective:.6g}"
            return line

        run = queue_and_follow(
            self,
            opts,
            enqueue=enqueue,
            errors=services.SweepError,
            as_json=opts["json"],
            queued_details=queued_details,
            describe=describe,
        )
        if run is None:
            return
        top = self._top(run, opts["top"])
        if opts["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "id": run.pk,
                        "status": run.status,
                        "error": run.error,
                        "evaluated": run.evaluated,
                        "best": {
                            "trial": run.best_trial_id,
                            "params": run.best_params,
                            "metrics": run.best_metrics,
                        },
                        "top": top,
                    }
                )
            )
        elif run.status == "succeeded":
            self.stdout.write(
                f"sweep {run.pk} succeeded: {run.evaluated:,} combinations "
                f"in {run.duration_seconds or 0:.1f} s "
                f"(evaluation {run.eval_seconds:.2f} s)"
            )
            for i, row in enumerate(top, start=1):
                value = row["objective"]
                shown = "null" if value is None else f"{value:.6g}"
                self.stdout.write(
                    f"  {i}. {run.objective_metric}={shown}  trades={row['total_trades']}  "
                    f"{json.dumps(row['params'])}"
                )
        raise_unless_succeeded(run)

    def _top(self, run, n: int) -> list[dict]:
        from optimizers.selectors import top_trials

        return [
            {"trial": t.pk, "params": t.params, "objective": t.objective, "total_trades": t.total_trades}
            for t in top_trials(run, n)
        ]
